//! `cqrs-admin`: get every CQRS user account ready for NHSmail single sign-on.

pub mod model;
pub mod rules;
