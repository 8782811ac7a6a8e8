//! `signin ADDRESS`: the four outcomes of rules.md.

use crate::common::Store;

fn outcome(store: &Store, address: &str) -> serde_json::Value {
    store
        .run(&["signin", address, "--format", "json"])
        .ok()
        .json()
}

#[test]
fn an_ok_account_reaches_the_message_centre_with_its_roles() {
    let store = Store::with_fixtures();
    let json = outcome(&store, "sarah.jones@nhs.net");
    assert_eq!(json["outcome"], "message-centre");
    assert_eq!(json["account_ids"], serde_json::json!(["U0000001"]));
    let roles = json["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 2);
    assert_eq!(roles[0]["ods_code"], "F82001");
    assert_eq!(roles[0]["payment_types"], serde_json::json!(["QOF", "DES"]));
}

#[test]
fn the_address_is_matched_ignoring_case_and_padding() {
    let store = Store::with_fixtures();
    let json = outcome(&store, "  DAVID.brown@nhs.net ");
    assert_eq!(json["outcome"], "message-centre");
    assert_eq!(json["account_ids"], serde_json::json!(["U0000002"]));
}

#[test]
fn an_address_not_in_the_directory_fails_at_nhsmail() {
    let store = Store::with_fixtures();
    for address in [
        "nobody@nhs.net",
        "emma.wilson@nhs.net",
        "abbeymc.admin@nhs.net",
        "margaret.hall@nhs.net",
    ] {
        // Not held, held as a shared mailbox, held but disabled: all fail at NHSmail.
        assert_eq!(
            outcome(&store, address)["outcome"],
            "nhsmail-failure",
            "{address}"
        );
    }
    let table = store.run(&["signin", "nobody@nhs.net"]).ok();
    assert!(
        table.stdout.contains("Incorrect user ID or password"),
        "{}",
        table.stdout
    );
}

#[test]
fn an_nhsmail_user_without_a_matching_account_gets_authentication_error() {
    let store = Store::with_fixtures();
    let json = outcome(&store, "gary.walker@nhs.net");
    assert_eq!(json["outcome"], "authentication-error");
    assert_eq!(json["account_ids"], serde_json::json!([]));
    let table = store.run(&["signin", "gary.walker@nhs.net"]).ok();
    assert!(
        table.stdout.contains("Authentication Error"),
        "{}",
        table.stdout
    );
}

#[test]
fn two_live_accounts_with_the_address_are_ambiguous() {
    let store = Store::with_fixtures();
    let json = outcome(&store, "helen.clarke@nhs.net");
    assert_eq!(json["outcome"], "ambiguous");
    assert_eq!(
        json["account_ids"],
        serde_json::json!(["U0000023", "U0000024"])
    );
}

#[test]
fn a_disabled_account_does_not_count() {
    let store = Store::with_fixtures();
    // U0000025 (disabled) and U0000026 (active) share amir.khan@nhs.net.
    let json = outcome(&store, "amir.khan@nhs.net");
    assert_eq!(json["outcome"], "message-centre");
    assert_eq!(json["account_ids"], serde_json::json!(["U0000026"]));
}

#[test]
fn a_look_alike_address_never_signs_in() {
    let store = Store::with_fixtures();
    assert_eq!(
        outcome(&store, "ѕusan.baker@nhs.net")["outcome"],
        "nhsmail-failure"
    );
}

/// The store finds accounts by a 64-bit key of the address, and two
/// addresses may share one: an account filed under gary.walker's key (as a
/// colliding address would be) must still not sign in as gary.walker, nor
/// make his address look taken to a replacement.
#[test]
fn an_account_sharing_only_the_addresses_key_is_not_found() {
    let store = Store::with_fixtures();
    let key = cqrs_admin::store::address_key::address_key("gary.walker@nhs.net");
    rusqlite::Connection::open(&store.db)
        .unwrap()
        .execute(
            "INSERT INTO account_emails (email_key, account_id) VALUES (?1, 'U0000001')",
            [key],
        )
        .unwrap();
    let json = outcome(&store, "gary.walker@nhs.net");
    assert_eq!(json["outcome"], "authentication-error");
    assert_eq!(json["account_ids"], serde_json::json!([]));
    // Sarah (U0000001) herself is still found by her own address.
    let json = outcome(&store, "sarah.jones@nhs.net");
    assert_eq!(json["account_ids"], serde_json::json!(["U0000001"]));
}
