//! The whole-store audit: every account, on three reading threads and a
//! classifying one, for `audit`, `report` and `plan` (and the national-scale
//! benchmark, whose goal is about 0.86 s and 205 MB for 1M accounts).
//!
//! The store hands over its three inputs as one consistent snapshot
//! (`Store::audit_inputs`). Three threads read the directory (into sorted
//! lists of hashes, `directory.rs`), the accounts (sorting the hashes of
//! their addresses, `accounts.rs`) and the roles. One merge of the two
//! sorted lists of address hashes then gives every account its directory
//! facts, and runs of equal hashes are the duplicate addresses: no hash map
//! of a million entries is probed (that engine took 2.9 s; this one 0.86 s).
//! Last, a second thread applies the rules in account_id order, a chunk of
//! [`CHUNK`] accounts ahead of the caller's, which builds the rows and visits
//! them; the candidates of a whole chunk's matches are looked up together,
//! so their cache misses overlap.
//!
//! Of the 0.86 s, reading the three tables takes about 0.55 s (the store's
//! stepping, the kernel copying pages and zeroing fresh memory are the
//! largest parts), classifying and writing 975,000 CSV rows about 0.23 s.
//! The time varies with the kernel's cost of fresh memory on the benchmark's
//! virtual machine, which is why the engine allocates as little as it can.

use anyhow::Result;

use super::accounts::{Accounts, Roles};
use super::directory::{DirectoryIndex, match_codes};
use super::key::{Hashes, hashes};
use super::outcome::Outcome;
use super::{AuditOptions, AuditRow};
use crate::store::Store;

/// Accounts are classified in chunks of this many, on a thread of their
/// own, while the caller's thread visits the chunk before.
const CHUNK: usize = 1 << 14;

/// Runs the audit over every account, calling `visit` for each in
/// account_id order; stops at the first error `visit` returns.
pub fn audit(
    store: &Store,
    options: AuditOptions,
    mut visit: impl FnMut(&AuditRow<'_>) -> Result<()>,
) -> Result<()> {
    let inputs = store.audit_inputs()?;
    let (directory, accounts) = std::thread::scope(|scope| {
        let directory = scope.spawn(move || {
            let index = DirectoryIndex::load(inputs.directory);
            tracing::info!("directory loaded");
            index
        });
        let roles = scope.spawn(move || Roles::load(inputs.roles));
        let accounts = Accounts::load(inputs.accounts);
        let failed = |what: &str| anyhow::anyhow!("reading the {what} failed");
        let roles = roles.join().unwrap_or_else(|_| Err(failed("roles")));
        // What needs no directory, while the directory is still being read.
        let accounts = accounts.and_then(|mut accounts| {
            accounts.attach(roles?);
            accounts.mark_duplicates();
            Ok(accounts)
        });
        let directory = directory
            .join()
            .unwrap_or_else(|_| Err(failed("directory")));
        (directory, accounts)
    });
    let (mut directory, mut accounts) = (directory?, accounts?);
    accounts.mark_directory_facts(&directory);
    directory.forget_addresses();
    tracing::info!("addresses merged");

    let (accounts, directory) = (&accounts, &directory);
    std::thread::scope(|scope| {
        let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<Outcome>>(4);
        let classifier = scope.spawn(move || {
            let n = accounts.len();
            for start in (0..n).step_by(CHUNK) {
                let outcomes = classify(accounts, directory, start..n.min(start + CHUNK), options);
                // The caller stopped early (its visit failed): stop too.
                if sender.send(outcomes).is_err() {
                    break;
                }
            }
        });
        let mut roles = Vec::new();
        let mut at = 0;
        for outcome in chunks.iter().flatten() {
            let this = at;
            at += 1;
            let (status, superseded) = accounts.standing(this);
            if !options.considers(status, superseded) || !options.shows(outcome.category) {
                continue;
            }
            accounts.roles(this, &mut roles);
            visit(&AuditRow::new(accounts.view(this), &roles, outcome))?;
        }
        if classifier.join().is_err() || at != accounts.len() {
            anyhow::bail!("classifying the accounts failed");
        }
        tracing::info!("accounts classified");
        Ok(())
    })
}

/// Applies the rules to the accounts `range`, as `one::classify` does one by
/// one, but looking up the match candidates of all of them at once (their
/// cache misses then overlap). Accounts the audit does not consider get a
/// stand-in.
fn classify(
    accounts: &Accounts,
    directory: &DirectoryIndex,
    range: std::ops::Range<usize>,
    options: AuditOptions,
) -> Vec<Outcome> {
    let first = range.start;
    let mut outcomes = Vec::with_capacity(range.len());
    let mut roles = Vec::new();
    // The accounts that need the match, and the end of their look-ups.
    let mut wanted: Vec<(usize, usize)> = Vec::new();
    let mut keys: Vec<Hashes> = Vec::new();
    for at in range {
        let (status, superseded) = accounts.standing(at);
        let outcome = if options.considers(status, superseded) {
            let account = accounts.view(at);
            let outcome = Outcome::categorised(
                &account,
                superseded,
                accounts.is_duplicate(at),
                accounts.directory_facts(at),
                accounts.links(at),
            );
            if outcome.needs_match() {
                accounts.roles(at, &mut roles);
                for code in match_codes(&roles) {
                    keys.push(hashes(&[account.given_name, account.family_name, code]));
                }
                wanted.push((at, keys.len()));
            }
            outcome
        } else {
            Outcome::not_considered()
        };
        outcomes.push(outcome);
    }
    let found: Vec<(usize, usize)> = keys.iter().map(|&k| directory.people_with(k)).collect();
    let mut from = 0;
    for (at, to) in wanted {
        let account = accounts.view(at);
        accounts.roles(at, &mut roles);
        let outcome = &mut outcomes[at - first];
        outcome.matched(directory.match_among(
            account.given_name,
            account.family_name,
            &match_codes(&roles),
            &found[from..to],
        ));
        // One look-up: is the match the address of CQRS's own account?
        if let Some(address) = outcome.confident_address() {
            let links = accounts.links_at_match(at, address);
            outcome.compared_at_match(links);
        }
        from = to;
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::audit::one::classify as classify_one;
    use crate::audit::test_support::{entry, fixture_store};
    use crate::audit::{NearAccount, Nearby};
    use crate::model::{DirectoryEntry, MailboxType, Role, Status};
    use crate::rules::{Category, NhsmailMatch, normal_form};
    use crate::store::AccountBytes;

    /// Every account of the store as the one-account path's [`Nearby`].
    fn nearby_of(store: &Store) -> Nearby {
        let mut near = Vec::new();
        for (id, _, _) in store.account_keys().unwrap() {
            near.push(NearAccount {
                account: store.account(&id).unwrap().unwrap(),
                replaces: store.replaced_account_of(&id).unwrap(),
                roles: store.roles(&id).unwrap(),
            });
        }
        Nearby::new(near)
    }

    /// The audit one account at a time, the oracle of the pipeline: over a
    /// directory index and every account as [`Nearby`], streaming the
    /// accounts with their roles from the store.
    fn audit_with(
        store: &Store,
        directory: &DirectoryIndex,
        duplicates: &Nearby,
        options: AuditOptions,
        visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<()>,
    ) -> Result<()> {
        store.for_each_account_with_roles(|account, roles| {
            if !options.considers(account.status, account.superseded) {
                return Ok(());
            }
            let row = classify_one(account, roles, directory, duplicates);
            if !options.shows(row.category) {
                return Ok(());
            }
            visit(&row)
        })
    }

    /// An account written `id|email|given|family|state|ODS codes`, where the
    /// state is `active`, `disabled` or `superseded`.
    struct Spec<'a> {
        id: &'a str,
        email: &'a str,
        given: &'a str,
        family: &'a str,
        status: Status,
        superseded: bool,
        codes: Vec<&'a str>,
    }

    fn spec(line: &str) -> Spec<'_> {
        let fields: Vec<&str> = line.split('|').collect();
        Spec {
            id: fields[0],
            email: fields[1],
            given: fields[2],
            family: fields[3],
            status: if fields[4] == "disabled" {
                Status::Disabled
            } else {
                Status::Active
            },
            superseded: fields[4] == "superseded",
            codes: fields[5].split_whitespace().collect(),
        }
    }

    /// The bulk audit's accounts, roles (with some of accounts not in the
    /// store) and marks, loaded as from a store.
    fn bulk(specs: &[Spec<'_>], orphans: &[&str], directory: &DirectoryIndex) -> Accounts {
        let mut accounts = Accounts::with_capacity(specs.len());
        let mut text = Vec::new();
        for a in specs {
            let row = AccountBytes {
                account_id: a.id.as_bytes(),
                email: a.email.as_bytes(),
                given_name: a.given.as_bytes(),
                family_name: a.family.as_bytes(),
                status: a.status,
                superseded: a.superseded,
                made_here: false,
            };
            accounts.push(&mut text, row).unwrap();
        }
        accounts.finish(text).unwrap();
        // Roles in (account_id, ods_code) order, as the store gives them.
        let mut roles: Vec<(&str, &str)> = specs
            .iter()
            .flat_map(|a| a.codes.iter().map(move |code| (a.id, *code)))
            .chain(orphans.iter().map(|id| (*id, "Y00001")))
            .collect();
        roles.sort();
        let mut table = Roles::default();
        let mut reading = crate::audit::accounts::ReadingRoles::default();
        for (id, code) in roles {
            let (id, code) = (id.as_bytes(), code.as_bytes());
            table.push(&mut reading, id, code, Role::View).unwrap();
        }
        accounts.attach(table);
        accounts.mark_duplicates();
        accounts.mark_directory_facts(directory);
        accounts
    }

    #[test]
    fn the_bulk_audit_agrees_with_classifying_one_account_at_a_time() {
        let lines = [
            "A1|jo.bloggs@nhs.net|Jo|Bloggs|active|F82001",
            "A2| JO.BLOGGS@nhs.net|Jo|Bloggs|active|F82002 F82001",
            "A3|sam@nhs.net|Sam|Smith|active|",
            "A4|Sam@NHS.net|Sam|Smith|disabled|F82001",
            "A5|sam@nhs.net|Sam|Smith|superseded|F82001",
            "A6|team@nhs.net|Ann|Lee|active|F82001",
            "A7|old@nhs.net|Ann|Lee|active|F82002 F82001",
            "A8|ann@practice.nhs.uk|Ann|Lee|active|F82001",
            "A9|ann@example.com|ANN| lee|active|F82003",
            "B1|not an address|Bo|Peep|active|F82001",
            "B2|not an address |Bo|Peep|active|F82001",
            "B3|ѕarah@nhs.net|Sarah|Jones|active|F82001",
            "B4|ѕarah@nhs.net\u{a0}|Sarah|Jones|active|",
            "B5|gone@nhs.net|Gus|Gone|disabled|F82001",
        ];
        let specs: Vec<Spec<'_>> = lines.iter().map(|l| spec(l)).collect();
        let shared = DirectoryEntry {
            mailbox_type: MailboxType::Shared,
            ..entry("team@nhs.net", "Ann", "Lee", "F82001")
        };
        let disabled = DirectoryEntry {
            status: Status::Disabled,
            ..entry("old@nhs.net", "Ann", "Lee", "F82001")
        };
        let directory = DirectoryIndex::from_entries(&[
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "F82001"),
            shared,
            disabled,
            entry("ann.lee@nhs.net", "Ann", "Lee", "F82001"),
            entry("ann.lee2@nhs.net", "Ann", "Lee", "F82003"),
            entry("ann.lee3@nhs.net", "Ann", "Lee", "F82003"),
            entry("sam@nhs.net", "Sam", "Smith", "F82002"),
        ]);
        let accounts = bulk(&specs, &["A0", "A55", "Z9"], &directory);
        // What the store's duplicate query finds: normal forms held by more
        // than one account that is neither superseded nor disabled.
        let mut live: HashMap<String, usize> = HashMap::new();
        for a in specs
            .iter()
            .filter(|a| a.status == Status::Active && !a.superseded)
        {
            *live.entry(normal_form(a.email)).or_default() += 1;
        }
        let duplicates: HashSet<String> = live
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(key, _)| key)
            .collect();
        // B3 and B4 differ by a no-break space, which the normal form keeps.
        assert_eq!(duplicates.len(), 2, "{duplicates:?}");
        let nearby = Nearby::new(
            specs
                .iter()
                .map(|a| NearAccount {
                    account: crate::model::Account {
                        account_id: a.id.into(),
                        username: a.id.into(),
                        email: a.email.into(),
                        given_name: a.given.into(),
                        family_name: a.family.into(),
                        status: a.status,
                        created_at: None,
                        last_login_at: None,
                        replaced_by: a.superseded.then(|| format!("R1-{}", a.id)),
                    },
                    replaces: None,
                    roles: a
                        .codes
                        .iter()
                        .map(|c| crate::model::RoleGrant {
                            ods_code: (*c).into(),
                            role: Role::View,
                            payment_types: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
        );
        for a in &specs {
            assert_eq!(
                nearby.is_duplicate(a.id),
                a.status == Status::Active
                    && !a.superseded
                    && duplicates.contains(&normal_form(a.email)),
                "{}",
                a.id
            );
        }

        let everything = AuditOptions {
            include_disabled: true,
        };
        let outcomes = classify(&accounts, &directory, 0..specs.len(), everything);
        let mut roles = Vec::new();
        for (at, (a, outcome)) in specs.iter().zip(&outcomes).enumerate() {
            accounts.roles(at, &mut roles);
            let codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
            let mut expected = a.codes.clone();
            expected.sort_unstable();
            assert_eq!(codes, expected, "roles of {}", a.id);
            let view = accounts.view(at);
            assert_eq!(
                (
                    view.account_id,
                    view.email,
                    view.given_name,
                    view.family_name
                ),
                (a.id, a.email, a.given, a.family)
            );
            assert_eq!((view.status, view.superseded), (a.status, a.superseded));
            let one = classify_one(view, &roles, &directory, &nearby);
            assert_eq!(
                (outcome.category, &outcome.nhsmail_match, outcome.section),
                (one.category, &one.nhsmail_match, one.section),
                "account {}",
                a.id
            );
        }
        let category = |id: &str| outcomes[specs.iter().position(|a| a.id == id).unwrap()].category;
        assert_eq!(category("A1"), Category::DuplicateEmail);
        assert_eq!(
            category("A3"),
            Category::Ok,
            "its twins are disabled or superseded"
        );
        assert_eq!(category("A6"), Category::SharedMailbox);
        assert_eq!(category("A7"), Category::NhsmailDisabled);
        assert_eq!(category("A9"), Category::OtherDomain);
        assert_eq!(category("B2"), Category::InvalidEmail);
        assert_eq!(category("B5"), Category::Disabled);
        let matched = |id: &str| {
            let at = specs.iter().position(|a| a.id == id).unwrap();
            outcomes[at].nhsmail_match.clone()
        };
        let confident = |a: &str| Some(NhsmailMatch::Confident(a.to_string()));
        assert_eq!(matched("A8"), confident("ann.lee@nhs.net"));
        assert_eq!(matched("A9"), Some(NhsmailMatch::Ambiguous));
        assert_eq!(matched("A3"), None, "an ok account needs no match");
    }

    #[test]
    fn the_audit_of_the_fixtures_is_the_audit_one_account_at_a_time() {
        let (_dir, store) = fixture_store();
        let directory = DirectoryIndex::load(store.audit_inputs().unwrap().directory).unwrap();
        let duplicates = nearby_of(&store);
        let row = |r: &AuditRow<'_>| {
            format!(
                "{:?} {:?} {:?} {} {:?} {:?}",
                r.account,
                r.roles,
                r.category,
                r.match_column(),
                r.section,
                r.cqrs
            )
        };
        for include_disabled in [false, true] {
            let options = AuditOptions { include_disabled };
            let mut bulk = Vec::new();
            audit(&store, options, |r| {
                bulk.push(row(r));
                Ok(())
            })
            .unwrap();
            let mut one_by_one = Vec::new();
            audit_with(&store, &directory, &duplicates, options, &mut |r| {
                one_by_one.push(row(r));
                Ok(())
            })
            .unwrap();
            assert!(bulk.len() > 30);
            assert_eq!(bulk, one_by_one);
        }
    }

    #[test]
    fn a_failing_visit_stops_the_audit_with_its_error() {
        let (_dir, store) = fixture_store();
        let mut visited = 0;
        let result = audit(&store, AuditOptions::default(), |_| {
            visited += 1;
            anyhow::bail!("the output is closed")
        });
        assert_eq!(result.unwrap_err().to_string(), "the output is closed");
        assert_eq!(visited, 1);
    }

    #[test]
    fn an_empty_store_has_an_empty_audit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("empty.db")).unwrap();
        let mut visited = 0;
        audit(&store, AuditOptions::default(), |_| {
            visited += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(visited, 0);
    }
}
