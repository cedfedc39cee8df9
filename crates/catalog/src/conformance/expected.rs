//! The facts the suite expects of the sample catalog (`examples/stub-catalog.json`), written out.

/// Every method id, sorted.
pub const METHOD_IDS: [&str; 13] = [
    "company_registry_lookup",
    "crawler_linkedin_profile",
    "crawler_twitter_posts",
    "crawler_twitter_profile",
    "dns_resolve",
    "domain_subdomains",
    "enrich_person_email",
    "geocode_address",
    "image_exif_location",
    "organization_employees",
    "post_sentiment",
    "resolve_person_identity",
    "whois_domain",
];

/// Method ids by entity type, sorted.
pub const BY_ENTITY_TYPE: [(&str, &[&str]); 5] = [
    (
        "domain",
        &["dns_resolve", "domain_subdomains", "whois_domain"],
    ),
    ("location", &["geocode_address", "image_exif_location"]),
    (
        "organization",
        &["company_registry_lookup", "organization_employees"],
    ),
    (
        "person",
        &[
            "crawler_linkedin_profile",
            "crawler_twitter_profile",
            "enrich_person_email",
            "resolve_person_identity",
        ],
    ),
    ("post", &["crawler_twitter_posts", "post_sentiment"]),
];

/// Ontology versions, oldest first.
pub const VERSIONS: [&str; 2] = ["1.0", "2.0"];

/// Entity names of version 1.0, sorted.
pub const ENTITIES_1_0: [&str; 4] = ["domain", "organization", "person", "post"];

/// Entity names of version 2.0 (the latest), sorted.
pub const ENTITIES_2_0: [&str; 6] = [
    "agent",
    "domain",
    "location",
    "organization",
    "person",
    "post",
];
