//! What a person sees when signing in on cutover day (rules.md, "Sign-in").

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigninOutcome {
    NhsmailFailure,
    AuthenticationError,
    MessageCentre(String),
    Ambiguous(Vec<String>),
}

pub fn signin_outcome(
    _directory: Option<super::DirectoryFacts>,
    _live_account_ids: &[String],
) -> SigninOutcome {
    todo!("rules helper")
}
