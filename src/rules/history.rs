//! Who can see which activity (rules.md, "History").
