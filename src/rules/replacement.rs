//! The checks a replacement account must pass (rules.md, "Replacement accounts").
