//! Writes other than imports: replacements, reverts and the change log.
