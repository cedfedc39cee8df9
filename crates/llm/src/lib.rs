//! The avb **LLM** port.
//!
//! Chat, streaming chat, embeddings, model list. Backends: deterministic offline model, OpenAI-compatible APIs (sandbox); Ollama (live).
//!
//! This crate is the port's home. Its trait, backends and conformance suite are not written yet;
//! they arrive with the port's own issue. The backend is already *selected* at startup by
//! [`config`] through `LLM_PROVIDER`, so a service can resolve and
//! print its configuration today.

pub mod config;
