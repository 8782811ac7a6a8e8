//! Deterministic generator of the five input files (data-formats.md) at any size,
//! for the benchmark (benchmarks.md) and for large-scale testing.
//!
//! ```text
//! cargo run --release --example generate -- --accounts 1000000 --seed 1 --out bench/data/1000000
//! ```
//!
//! The same `--accounts` and `--seed` always give byte-identical files. At
//! 1,000,000 accounts it writes about 1,400,000 directory entries, 2,000,000
//! permission rows, 250,000 activity records, and 6,500 practices under 135
//! commissioners in 7 regions; smaller runs scale these down (at least one of
//! each).
//!
//! Every account is a *person* given a scenario that aims at one category of
//! rules.md (most are `ok`, about one in ten `nhs-uk-domain`, and some of every
//! other category). The generator does not decide the categories: the audit
//! does, and a few accounts land elsewhere by chance, as in real data (two
//! people of the same name at one practice make an ambiguous match). The SQL
//! oracle `bench/audit.sql` counts the real mix.
//!
//! Standard library only; a small splitmix64 generator keeps it deterministic.
//! Rows are written straight into buffered writers, reusing one string buffer for
//! addresses, so that a million accounts take a few seconds.

use std::error::Error;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Fixed lists: common British names, places, payment types, roles.

#[rustfmt::skip]
const GIVEN: &[&str] = &[
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad", "Thomas",
    "Oscar", "William", "James", "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie",
    "Ethan", "Isaac", "Alexander", "Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur",
    "Lucas", "Mohammed", "Logan", "David", "John", "Michael", "Paul", "Andrew", "Mark",
    "Richard", "Peter", "Stephen", "Christopher", "Robert", "Anthony", "Simon", "Matthew",
    "Gareth", "Rhys", "Kwame", "Chidi", "Ravi", "Amir", "Olivia", "Amelia", "Isla", "Ava",
    "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily", "Sophie", "Grace", "Evie", "Jessica",
    "Sarah", "Emma", "Charlotte", "Hannah", "Lucy", "Laura", "Rebecca", "Rachel", "Claire",
    "Helen", "Karen", "Susan", "Margaret", "Elizabeth", "Catherine", "Nicola", "Joanne",
    "Louise", "Victoria", "Katie", "Amy", "Fiona", "Gemma", "Jennifer", "Julie", "Linda",
    "Mary", "Anne", "Alison", "Priya", "Aisha", "Fatima", "Zainab", "Siobhan", "Niamh", "Ffion",
];

#[rustfmt::skip]
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
    "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews",
    "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
    "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson",
    "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells",
    "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster",
    "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Okafor", "Osei", "Mensah", "Nowak",
    "Kowalski", "Chen", "Wong", "Sharma", "Iqbal", "Rahman",
];

/// NHS England's seven regions (domain.md): code, name, mailbox slug, and the
/// first letter given to the practice codes generated in the region.
const REGIONS: &[(&str, &str, &str, char)] = &[
    ("Y56", "London", "london", 'F'),
    ("Y58", "South West", "southwest", 'L'),
    ("Y59", "South East", "southeast", 'G'),
    ("Y60", "Midlands", "midlands", 'M'),
    ("Y61", "East of England", "eastofengland", 'D'),
    ("Y62", "North West", "northwest", 'P'),
    ("Y63", "North East and Yorkshire", "northeastyorkshire", 'B'),
];

#[rustfmt::skip]
const PLACES: &[&str] = &[
    "Abbey", "Ashford", "Beacon", "Beechwood", "Bridgewater", "Brookside", "Castle", "Cedar",
    "Church Lane", "Clayton", "Cornford", "Crown", "Denmark Hill", "Elm Tree", "Fairfield",
    "Forest Gate", "Grange", "Greenway", "Hawthorn", "Heathfield", "High Street", "Hillside",
    "Holly Tree", "Kingsway", "Lakeside", "Lime Tree", "Market Square", "Meadowbank", "Mill",
    "Moorland", "New Road", "Northgate", "Oaklands", "Orchard", "Park View", "Priory",
    "Queens Park", "Riverside", "St Andrew's", "St John's", "Station Road", "The Green",
    "Victoria", "Westfield", "Willow", "Woodlands",
];

const PRACTICE_SUFFIX: &[&str] = &[
    "Surgery",
    "Medical Centre",
    "Health Centre",
    "Medical Practice",
    "Family Practice",
    "Group Practice",
];

#[rustfmt::skip]
const CCG_PLACES: &[&str] = &[
    "Barking and Dagenham", "Barnsley", "Bath and North East Somerset", "Bedfordshire",
    "Birmingham and Solihull", "Blackpool", "Bolton", "Bradford District and Craven", "Bristol",
    "Bury", "Calderdale", "Cambridgeshire and Peterborough", "Cheshire", "Cornwall",
    "County Durham", "Coventry and Warwickshire", "Croydon", "Derby and Derbyshire", "Devon",
    "Doncaster", "Dorset", "East Sussex", "Gloucestershire", "Hartlepool and Stockton-on-Tees",
    "Herefordshire and Worcestershire", "Hull", "Kent and Medway", "Kirklees", "Leeds",
    "Leicester City", "Lincolnshire", "Liverpool", "Manchester", "Newcastle Gateshead",
    "Norfolk and Waveney", "North Central London", "Northamptonshire",
    "Nottingham and Nottinghamshire", "Oxfordshire", "Sheffield", "Somerset",
    "South East London", "South West London", "Stoke-on-Trent", "Suffolk", "Sunderland",
    "Surrey Heartlands", "Wakefield", "Wigan Borough", "Wirral",
];

/// Hospital trusts' own mail systems: their staff's `*.nhs.uk` addresses.
const TRUST_DOMAINS: &[&str] = &[
    "nth.nhs.uk",
    "rdeft.nhs.uk",
    "uhbristol.nhs.uk",
    "mft.nhs.uk",
    "leedsth.nhs.uk",
    "nuth.nhs.uk",
    "sth.nhs.uk",
    "gstt.nhs.uk",
    "uhl-tr.nhs.uk",
    "england.nhs.uk",
];

const OTHER_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.co.uk",
    "btinternet.com",
    "yahoo.co.uk",
    "icloud.com",
    "live.co.uk",
    "sky.com",
];

const SHARED_FUNCTIONS: &[&str] = &[
    "reception",
    "admin",
    "manager",
    "finance",
    "prescriptions",
    "referrals",
    "secretaries",
    "nurses",
    "dispensary",
    "appointments",
];

const PLUS_TAGS: &[&str] = &["cqrs", "work", "gp", "news"];

const PAYMENT_TYPES: &[&str] = &["QOF", "DES", "LES", "QOF;DES", "DES;LES", "QOF;DES;LES"];

const PRACTICE_ROLES: &[&str] = &[
    "view",
    "finance-view",
    "achievement-entry",
    "service-management",
    "declaration-management",
    "supervisor",
];
const PRACTICE_ADMIN_ROLES: &[&str] = &["user-administrator"];
const COMMISSIONER_ROLES: &[&str] = &[
    "view",
    "finance-view",
    "approval-management",
    "finance-management",
];
const COMMISSIONER_ADMIN_ROLES: &[&str] = &[
    "advanced-user-administrator",
    "user-administrator",
    "organisation-administrator",
];

/// Latin letters and the Cyrillic letters that look the same.
const LOOKALIKES: &[(u8, char)] = &[
    (b'a', 'а'),
    (b'e', 'е'),
    (b'o', 'о'),
    (b's', 'ѕ'),
    (b'i', 'і'),
    (b'c', 'с'),
    (b'p', 'р'),
    (b'x', 'х'),
    (b'y', 'у'),
];

const ACTIVITY_DETAILS: &[&str] = &[
    "QOF 2019/20",
    "QOF 2020/21",
    "Extended Hours DES",
    "Learning Disabilities Health Check DES",
    "\"Childhood Immunisations DES, Q4 2019/20\"",
    "Seasonal influenza DES",
    "Local enhanced service: anticoagulation monitoring",
    "\"QOF achievement, aspiration payment\"",
    "Network Contract DES",
    "",
];

// ---------------------------------------------------------------------------
// Proportions, in parts per million of people (each person has one account,
// except where a scenario says two).

const PPM: u64 = 1_000_000;
const P_DISABLED: u64 = 25_000;
const P_LOOKALIKE: u64 = 1_500;
const P_MALFORMED: u64 = 3_500;
const P_DUPLICATE: u64 = 3_000;
const P_SHARED: u64 = 10_000;
const P_NHSMAIL_DISABLED: u64 = 15_000;
const P_NOT_IN_DIRECTORY: u64 = 25_000;
const P_NHS_UK: u64 = 100_000;
const P_OTHER_DOMAIN: u64 = 30_000;
const P_SECOND_ACCOUNT: u64 = 2_000;

const P_ADMIN: u64 = 50_000;
const P_NO_ROLES: u64 = 4_000;
const P_LOCUM: u64 = 30_000;
const P_RESTRICTED: u64 = 200_000;
const P_COMMISSIONER_USER: u64 = 40_000;
const P_REGION_USER: u64 = 10_000;

/// Directory entries per account (padded up to it with NHSmail users who have no
/// CQRS account) and activity records per account (a quarter).
const DIRECTORY_PER_ACCOUNT: f64 = 1.4;
const ACTIVITY_PER_ACCOUNT_NUM: u64 = 1;
const ACTIVITY_PER_ACCOUNT_DEN: u64 = 4;

// ---------------------------------------------------------------------------

/// splitmix64: tiny, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn chance(&mut self, ppm: u64) -> bool {
        self.below(PPM as usize) < ppm as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Region,
    Commissioner,
    Practice,
}

/// All organisations in one index space: regions, then commissioners, then
/// practices.
struct Orgs {
    code: Vec<String>,
    code_lc: Vec<String>,
    kind: Vec<Kind>,
    regions: usize,
    commissioners: usize,
    practices: usize,
    /// Shared mailboxes made so far per organisation (to keep addresses unique).
    shared_made: Vec<u32>,
    /// Trusts: directory-only organisations that are not in CQRS.
    trusts: Vec<String>,
}

impl Orgs {
    fn practice(&self, i: usize) -> usize {
        self.regions + self.commissioners + i
    }
    fn commissioner(&self, i: usize) -> usize {
        self.regions + i
    }
}

/// A person's NHSmail-style handle: `given.family` plus a number that keeps it
/// unique (`john.smith`, `john.smith1`, `john.smith2`, ...).
#[derive(Clone, Copy)]
struct Handle {
    g: usize,
    f: usize,
    n: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Capital,
}

struct Names {
    given_lc: Vec<String>,
    family_lc: Vec<String>,
    /// Next number per (given, family).
    next: Vec<u32>,
}

impl Names {
    fn new() -> Self {
        Names {
            given_lc: GIVEN.iter().map(|s| s.to_ascii_lowercase()).collect(),
            family_lc: FAMILY
                .iter()
                .map(|s| s.to_ascii_lowercase().replace('\'', ""))
                .collect(),
            next: vec![0; GIVEN.len() * FAMILY.len()],
        }
    }

    fn handle(&mut self, g: usize, f: usize) -> Handle {
        let slot = &mut self.next[g * FAMILY.len() + f];
        let n = *slot;
        *slot += 1;
        Handle { g, f, n }
    }

    /// Appends the handle's local part (`given.family[N]`).
    fn local(&self, out: &mut String, h: Handle, case: Case, sep: &str) {
        match case {
            Case::Lower => {
                out.push_str(&self.given_lc[h.g]);
                out.push_str(sep);
                out.push_str(&self.family_lc[h.f]);
            }
            Case::Capital => {
                out.push_str(GIVEN[h.g]);
                out.push_str(sep);
                for c in FAMILY[h.f].chars().filter(|&c| c != '\'') {
                    out.push(c);
                }
            }
        }
        if h.n > 0 {
            let _ = write!(out, "{}", h.n);
        }
    }

    fn nhs_net(&self, out: &mut String, h: Handle, case: Case) {
        self.local(out, h, case, ".");
        out.push_str("@nhs.net");
    }
}

/// Writes a CSV field, quoting it when it must be (RFC 4180).
fn field(w: &mut impl Write, s: &str) -> io::Result<()> {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        w.write_all(b"\"")?;
        w.write_all(s.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(s.as_bytes())
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// 2014-04-01 and 2020-09-22 as days since the epoch.
const DAY_FIRST: i64 = 16_161;
const DAY_CUTOVER_EVE: i64 = 18_527;

fn date(w: &mut impl Write, rng: &mut Rng, days: i64) -> io::Result<()> {
    let (y, m, d) = civil(days);
    if rng.chance(300_000) {
        let secs = rng.below(86_400);
        write!(
            w,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    } else {
        write!(w, "{y:04}-{m:02}-{d:02}")
    }
}

struct Out {
    accounts: BufWriter<File>,
    permissions: BufWriter<File>,
    directory: BufWriter<File>,
    activity: BufWriter<File>,
    n_accounts: u64,
    n_permissions: u64,
    n_directory: u64,
    n_activity: u64,
}

impl Out {
    /// Writes one directory entry.
    fn entry(
        &mut self,
        address: &str,
        given: &str,
        family: &str,
        org_code: &str,
        active: bool,
        shared: bool,
    ) -> io::Result<()> {
        let w = &mut self.directory;
        field(w, address)?;
        w.write_all(b",")?;
        field(w, given)?;
        w.write_all(b",")?;
        field(w, family)?;
        w.write_all(b",")?;
        w.write_all(org_code.as_bytes())?;
        w.write_all(if active { b",active," } else { b",disabled," })?;
        w.write_all(if shared { b"shared\n" } else { b"personal\n" })?;
        self.n_directory += 1;
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Role {
    org: usize,
    role: &'static str,
    payment: Option<&'static str>,
}

struct Generator {
    rng: Rng,
    names: Names,
    orgs: Orgs,
    out: Out,
    email: String,
    scratch: String,
    roles: Vec<Role>,
}

impl Generator {
    /// A personal directory entry for handle `h` at organisation `org`.
    fn person_entry(&mut self, h: Handle, org: usize, active: bool) -> io::Result<()> {
        // A few directory addresses are held with capitals, as the extract shows them.
        let case = if self.rng.chance(30_000) {
            Case::Capital
        } else {
            Case::Lower
        };
        self.scratch.clear();
        self.names.nhs_net(&mut self.scratch, h, case);
        let code = &self.orgs.code[org];
        self.out
            .entry(&self.scratch, GIVEN[h.g], FAMILY[h.f], code, active, false)
    }

    /// A new shared mailbox at `org`; its address is left in `self.email`.
    fn shared_entry(&mut self, org: usize, active: bool) -> io::Result<()> {
        let k = self.orgs.shared_made[org] as usize;
        self.orgs.shared_made[org] += 1;
        self.email.clear();
        self.email.push_str(&self.orgs.code_lc[org]);
        self.email.push('.');
        self.email
            .push_str(SHARED_FUNCTIONS[k % SHARED_FUNCTIONS.len()]);
        let round = k / SHARED_FUNCTIONS.len();
        if round > 0 {
            let _ = write!(self.email, "{round}");
        }
        self.email.push_str("@nhs.net");
        let code = &self.orgs.code[org];
        let function = SHARED_FUNCTIONS[k % SHARED_FUNCTIONS.len()];
        self.out
            .entry(&self.email, code, function, code, active, true)
    }

    /// Chooses the person's organisation and roles into `self.roles`.
    fn choose_roles(&mut self, primary: usize) {
        self.roles.clear();
        if self.rng.chance(P_NO_ROLES) {
            return;
        }
        let admin = self.rng.chance(P_ADMIN);
        let kind = self.orgs.kind[primary];
        let (plain, admins) = match kind {
            Kind::Practice => (PRACTICE_ROLES, PRACTICE_ADMIN_ROLES),
            _ => (COMMISSIONER_ROLES, COMMISSIONER_ADMIN_ROLES),
        };
        let k = match self.rng.below(100) {
            0..=34 => 1,
            35..=69 => 2,
            70..=94 => 3,
            _ => 4,
        };
        let mut pool = [0usize, 1, 2, 3, 4, 5];
        let n_plain = plain.len();
        let mut taken = 0;
        if admin {
            let role = self.rng.pick(admins);
            self.roles.push(Role {
                org: primary,
                role,
                payment: None,
            });
            taken += 1;
        }
        let mut i = 0;
        while taken < k && i < n_plain {
            let j = i + self.rng.below(n_plain - i);
            pool.swap(i, j);
            let payment = if self.rng.chance(P_RESTRICTED) {
                Some(self.rng.pick(PAYMENT_TYPES))
            } else {
                None
            };
            self.roles.push(Role {
                org: primary,
                role: plain[pool[i]],
                payment,
            });
            i += 1;
            taken += 1;
        }
        // Locums and staff shared between practices: a role at a second practice.
        if kind == Kind::Practice && self.orgs.practices > 1 && self.rng.chance(P_LOCUM) {
            let mut other = self.orgs.practice(self.rng.below(self.orgs.practices));
            if other == primary {
                other = if primary + 1 < self.orgs.code.len() {
                    primary + 1
                } else {
                    self.orgs.practice(0)
                };
            }
            let role = if self.rng.chance(500_000) {
                "view"
            } else {
                "achievement-entry"
            };
            self.roles.push(Role {
                org: other,
                role,
                payment: None,
            });
        }
    }

    fn pick_primary(&mut self) -> usize {
        let roll = self.rng.below(PPM as usize) as u64;
        if roll < P_REGION_USER {
            self.rng.below(self.orgs.regions)
        } else if roll < P_REGION_USER + P_COMMISSIONER_USER {
            self.orgs
                .commissioner(self.rng.below(self.orgs.commissioners))
        } else {
            self.orgs.practice(self.rng.below(self.orgs.practices))
        }
    }

    /// Writes one account with the roles in `self.roles`, and its share of the
    /// activity.
    fn account(
        &mut self,
        g: usize,
        f: usize,
        disabled: bool,
        upper_family: bool,
    ) -> io::Result<()> {
        self.out.n_accounts += 1;
        let id = self.out.n_accounts;
        let w = &mut self.out.accounts;
        write!(w, "U{id:07},")?;
        w.write_all(&self.names.given_lc[g].as_bytes()[..1])?;
        w.write_all(self.names.family_lc[f].as_bytes())?;
        write!(w, "{id:04},")?;
        // Padded values are legal (values are trimmed on import): field() leaves
        // the spaces unquoted.
        field(w, &self.email)?;
        w.write_all(b",")?;
        field(w, GIVEN[g])?;
        w.write_all(b",")?;
        if upper_family {
            field(w, &FAMILY[f].to_ascii_uppercase())?;
        } else {
            field(w, FAMILY[f])?;
        }
        w.write_all(if disabled { b",disabled," } else { b",active," })?;
        let created =
            DAY_FIRST + self.rng.below((DAY_CUTOVER_EVE - DAY_FIRST - 30) as usize) as i64;
        date(w, &mut self.rng, created)?;
        w.write_all(b",")?;
        if !self.rng.chance(120_000) {
            let span = if disabled {
                ((DAY_CUTOVER_EVE - created) / 2).max(1)
            } else {
                DAY_CUTOVER_EVE - created
            };
            let last = created + self.rng.below(span as usize) as i64;
            date(w, &mut self.rng, last)?;
        }
        w.write_all(b"\n")?;

        for i in 0..self.roles.len() {
            let r = self.roles[i];
            let w = &mut self.out.permissions;
            write!(w, "U{id:07},")?;
            w.write_all(self.orgs.code[r.org].as_bytes())?;
            w.write_all(b",")?;
            w.write_all(r.role.as_bytes())?;
            w.write_all(b",")?;
            if let Some(p) = r.payment {
                w.write_all(p.as_bytes())?;
            }
            w.write_all(b"\n")?;
            self.out.n_permissions += 1;
        }

        // Activity: a steady quarter of a record per account, done where the
        // account holds a role.
        let due = id * ACTIVITY_PER_ACCOUNT_NUM / ACTIVITY_PER_ACCOUNT_DEN;
        while self.out.n_activity < due && !self.roles.is_empty() {
            let r = self.roles[self.rng.below(self.roles.len())];
            let kind = match (self.orgs.kind[r.org], self.rng.below(2)) {
                (Kind::Practice, 0) => "offer-accepted",
                (Kind::Practice, _) => "achievement-declared",
                (_, 0) => "offer-made",
                (_, _) => "payment-approved",
            };
            self.out.n_activity += 1;
            let n = self.out.n_activity;
            let w = &mut self.out.activity;
            write!(w, "A{n:08},")?;
            w.write_all(self.orgs.code[r.org].as_bytes())?;
            write!(w, ",U{id:07},{kind},")?;
            let day = created + self.rng.below((DAY_CUTOVER_EVE - created) as usize) as i64;
            date(w, &mut self.rng, day)?;
            w.write_all(b",")?;
            w.write_all(self.rng.pick(ACTIVITY_DETAILS).as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The email of an ordinary nhs.net account, with the odd capital or pad.
    fn nhs_net_email(&mut self, h: Handle) {
        self.email.clear();
        let roll = self.rng.below(1000);
        let pad = (100..105).contains(&roll);
        if pad {
            self.email.push(' ');
        }
        let case = if roll < 80 {
            Case::Capital
        } else {
            Case::Lower
        };
        self.names.nhs_net(&mut self.email, h, case);
        if (80..100).contains(&roll) {
            // "john.smith@NHS.NET"
            let len = self.email.len();
            self.email.replace_range(len - 7.., "NHS.NET");
        }
        if pad {
            self.email.push_str("  ");
        }
    }

    /// Directory entries that make the NHSmail match confident, ambiguous or
    /// empty, with the given chances of the first two.
    fn match_entries(
        &mut self,
        g: usize,
        f: usize,
        org: usize,
        confident: u64,
        ambiguous: u64,
    ) -> io::Result<()> {
        let roll = self.rng.below(PPM as usize) as u64;
        if roll < confident + ambiguous {
            let h = self.names.handle(g, f);
            self.person_entry(h, org, true)?;
            if roll >= confident {
                // Two people with the same name at the same organisation.
                let h2 = self.names.handle(g, f);
                self.person_entry(h2, org, true)?;
            }
        }
        Ok(())
    }

    /// One person: chooses a scenario and writes their account(s) and directory
    /// entries. Returns the number of accounts written.
    fn person(&mut self, room: u64) -> io::Result<u64> {
        let g = self.rng.below(GIVEN.len());
        let f = self.rng.below(FAMILY.len());
        let primary = self.pick_primary();
        self.choose_roles(primary);
        let upper_family = self.rng.chance(5_000);

        let mut roll = self.rng.below(PPM as usize) as u64;
        let mut scenario = 0usize;
        for (i, p) in [
            P_DISABLED,
            P_LOOKALIKE,
            P_MALFORMED,
            P_DUPLICATE,
            P_SHARED,
            P_NHSMAIL_DISABLED,
            P_NOT_IN_DIRECTORY,
            P_NHS_UK,
            P_OTHER_DOMAIN,
            P_SECOND_ACCOUNT,
        ]
        .into_iter()
        .enumerate()
        {
            if roll < p {
                scenario = i + 1;
                break;
            }
            roll -= p;
        }
        // Two-account scenarios need room for two accounts.
        if room < 2 && matches!(scenario, 1 | 4 | 10) {
            scenario = 0;
        }

        match scenario {
            // disabled: an old account, its person perhaps gone from NHSmail;
            // sometimes re-created as a new active account with the same address.
            1 => {
                let h = self.names.handle(g, f);
                let state = self.rng.below(10);
                if state < 6 {
                    self.person_entry(h, primary, true)?;
                } else if state < 8 {
                    self.person_entry(h, primary, false)?;
                }
                self.email.clear();
                self.names.nhs_net(&mut self.email, h, Case::Lower);
                self.account(g, f, true, false)?;
                if state < 6 && self.rng.chance(300_000) {
                    self.email.clear();
                    self.names.nhs_net(&mut self.email, h, Case::Capital);
                    self.account(g, f, false, upper_family)?;
                    return Ok(2);
                }
                Ok(1)
            }
            // A Cyrillic look-alike letter in an otherwise good address.
            2 => {
                let h = self.names.handle(g, f);
                self.person_entry(h, primary, true)?;
                self.email.clear();
                self.names.nhs_net(&mut self.email, h, Case::Lower);
                let local_len = self.email.len() - "@nhs.net".len();
                let spots: Vec<(usize, char)> = self.email.as_bytes()[..local_len]
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| {
                        LOOKALIKES
                            .iter()
                            .find(|(l, _)| l == b)
                            .map(|(_, c)| (i, *c))
                    })
                    .collect();
                if !spots.is_empty() {
                    let (i, c) = spots[self.rng.below(spots.len())];
                    let mut buf = [0u8; 4];
                    self.email.replace_range(i..=i, c.encode_utf8(&mut buf));
                }
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // Other malformed addresses, as typed into CQRS over the years.
            3 => {
                let h = self.names.handle(g, f);
                self.person_entry(h, primary, true)?;
                let e = &mut self.email;
                e.clear();
                let variant = self.rng.below(10);
                match variant {
                    0 => self.names.local(e, h, Case::Lower, ".."),
                    1 => self.names.local(e, h, Case::Capital, " "),
                    2 => {
                        e.push('.');
                        self.names.local(e, h, Case::Lower, ".");
                    }
                    _ => self.names.local(e, h, Case::Lower, "."),
                }
                e.push_str(match variant {
                    0..=2 => "@nhs.net",
                    3 => "@nhs,net",
                    4 => ".nhs.net",
                    5 => "@nhs.net.",
                    6 => "@@nhs.net",
                    7 => "@nhsnet",
                    8 => "@",
                    _ => "@nhs.net; ",
                });
                if variant == 9 {
                    // Two addresses in one field.
                    self.names.local(e, h, Case::Lower, ".");
                    e.push_str("@gmail.com");
                }
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // The same person twice, with the same address.
            4 => {
                let h = self.names.handle(g, f);
                self.email.clear();
                if self.rng.chance(800_000) {
                    self.person_entry(h, primary, true)?;
                    self.names.nhs_net(&mut self.email, h, Case::Lower);
                } else {
                    self.match_entries(g, f, primary, 700_000, 0)?;
                    self.names.local(&mut self.email, h, Case::Lower, ".");
                    self.email.push_str("@gp-");
                    self.email.push_str(&self.orgs.code_lc[primary]);
                    self.email.push_str(".nhs.uk");
                }
                self.account(g, f, false, upper_family)?;
                if self.rng.chance(500_000) {
                    let at = self.email.find('@').unwrap_or(0);
                    self.email[..1].make_ascii_uppercase();
                    let rest = self.email.split_off(at);
                    self.email.push_str(&rest.to_ascii_uppercase());
                }
                self.account(g, f, false, false)?;
                Ok(2)
            }
            // A shared mailbox on a personal account.
            5 => {
                let active = self.rng.chance(850_000);
                self.shared_entry(primary, active)?;
                self.match_entries(g, f, primary, 700_000, 20_000)?;
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // The NHSmail mailbox is disabled; some have a newer one.
            6 => {
                let h = self.names.handle(g, f);
                self.person_entry(h, primary, false)?;
                self.match_entries(g, f, primary, 300_000, 10_000)?;
                self.email.clear();
                self.names.nhs_net(&mut self.email, h, Case::Lower);
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // An nhs.net address the directory does not hold.
            7 => {
                let h = self.names.handle(g, f);
                self.email.clear();
                match self.rng.below(10) {
                    // plus addressing
                    0 | 1 => {
                        self.person_entry(h, primary, true)?;
                        self.names.local(&mut self.email, h, Case::Lower, ".");
                        self.email.push('+');
                        self.email.push_str(self.rng.pick(PLUS_TAGS));
                        self.email.push_str("@nhs.net");
                    }
                    // an old style address without the dot
                    2..=4 => {
                        self.person_entry(h, primary, true)?;
                        self.names.local(&mut self.email, h, Case::Lower, "");
                        self.email.push_str("@nhs.net");
                    }
                    // a name change: the directory knows the new name only
                    5 | 6 => {
                        let mut new_family = self.rng.below(FAMILY.len());
                        if new_family == f {
                            new_family = (f + 1) % FAMILY.len();
                        }
                        let h2 = self.names.handle(g, new_family);
                        self.person_entry(h2, primary, true)?;
                        self.names.nhs_net(&mut self.email, h, Case::Lower);
                    }
                    // left NHSmail, or never had it
                    _ => {
                        self.names.nhs_net(&mut self.email, h, Case::Lower);
                    }
                }
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // nhs.uk: a practice's or a trust's own mail system.
            8 => {
                let h = self.names.handle(g, f);
                self.match_entries(g, f, primary, 600_000, 60_000)?;
                self.email.clear();
                self.names.local(&mut self.email, h, Case::Lower, ".");
                if self.orgs.kind[primary] == Kind::Practice && self.rng.chance(600_000) {
                    self.email.push_str("@gp-");
                    self.email.push_str(&self.orgs.code_lc[primary]);
                    self.email.push_str(".nhs.uk");
                } else {
                    self.email.push('@');
                    self.email.push_str(self.rng.pick(TRUST_DOMAINS));
                }
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // Another provider altogether.
            9 => {
                let h = self.names.handle(g, f);
                self.match_entries(g, f, primary, 400_000, 40_000)?;
                self.email.clear();
                self.names.local(&mut self.email, h, Case::Lower, ".");
                self.email.push('@');
                self.email.push_str(self.rng.pick(OTHER_DOMAINS));
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
            // A good nhs.net account and a second one at another provider whose
            // confident match is the first one's address.
            10 => {
                let h = self.names.handle(g, f);
                self.person_entry(h, primary, true)?;
                self.nhs_net_email(h);
                self.account(g, f, false, upper_family)?;
                self.email.clear();
                self.names.local(&mut self.email, h, Case::Lower, "");
                self.email.push('@');
                self.email.push_str(self.rng.pick(OTHER_DOMAINS));
                self.account(g, f, false, false)?;
                Ok(2)
            }
            // ok
            _ => {
                let h = self.names.handle(g, f);
                self.person_entry(h, primary, true)?;
                self.nhs_net_email(h);
                self.account(g, f, false, upper_family)?;
                Ok(1)
            }
        }
    }

    /// NHSmail users with no CQRS account: other practice staff, commissioners'
    /// staff, and hospital staff at trusts that are not in CQRS.
    fn pad_directory(&mut self, target: u64) -> io::Result<()> {
        while self.out.n_directory < target {
            let g = self.rng.below(GIVEN.len());
            let f = self.rng.below(FAMILY.len());
            let h = self.names.handle(g, f);
            let active = !self.rng.chance(60_000);
            let roll = self.rng.below(10);
            if roll < 2 {
                let t = self.rng.below(self.orgs.trusts.len());
                self.scratch.clear();
                self.names.nhs_net(&mut self.scratch, h, Case::Lower);
                let code = &self.orgs.trusts[t];
                self.out
                    .entry(&self.scratch, GIVEN[g], FAMILY[f], code, active, false)?;
            } else {
                let org = if roll < 3 {
                    self.orgs
                        .commissioner(self.rng.below(self.orgs.commissioners))
                } else {
                    self.orgs.practice(self.rng.below(self.orgs.practices))
                };
                self.person_entry(h, org, active)?;
            }
        }
        Ok(())
    }
}

/// An organisation's own (shared) mailbox: address, given and family name as
/// the directory shows them, ODS code.
type Mailbox = (String, String, String, String);

fn scaled(per_million: u64, accounts: u64) -> usize {
    ((per_million * accounts + PPM / 2) / PPM).max(1) as usize
}

/// Builds the organisations and writes organisations.csv and the directory's
/// organisation mailboxes.
fn organisations(
    accounts: u64,
    out: &Path,
    rng: &mut Rng,
) -> Result<(Orgs, Vec<Mailbox>), Box<dyn Error>> {
    let regions = scaled(7, accounts).min(REGIONS.len());
    let commissioners = scaled(135, accounts);
    let practices = scaled(6_500, accounts);
    let trusts = scaled(220, accounts);
    let mut orgs = Orgs {
        code: Vec::new(),
        code_lc: Vec::new(),
        kind: Vec::new(),
        regions,
        commissioners,
        practices,
        shared_made: Vec::new(),
        trusts: Vec::new(),
    };
    let mut w = BufWriter::new(File::create(out.join("organisations.csv"))?);
    w.write_all(b"ods_code,name,kind,parent_code,contact_email\n")?;
    // Mailboxes of the organisations themselves (address, name, name, code).
    let mut mailboxes = Vec::new();

    for (code, name, slug, _) in &REGIONS[..regions] {
        let contact = format!("england.{slug}-cqrs@nhs.net");
        writeln!(w, "{code},{name},region,,{contact}")?;
        mailboxes.push((
            contact,
            format!("NHS England {name}"),
            "CQRS".to_string(),
            code.to_string(),
        ));
        orgs.code.push(code.to_string());
        orgs.kind.push(Kind::Region);
    }

    const CCG_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXY";
    for i in 0..commissioners {
        let code = if commissioners <= 1_100 {
            format!(
                "{:02}{}",
                (i * 37 + 7) % 100,
                CCG_LETTERS[i % CCG_LETTERS.len()] as char
            )
        } else {
            format!("C{i:05}")
        };
        let place = CCG_PLACES[i % CCG_PLACES.len()];
        let name = if i < CCG_PLACES.len() {
            format!("NHS {place} CCG")
        } else {
            let second = CCG_PLACES[(i / CCG_PLACES.len() + i) % CCG_PLACES.len()];
            format!("NHS {place} and {second} CCG")
        };
        let region = i * regions / commissioners;
        let contact = format!("{}.primarycare@nhs.net", code.to_ascii_lowercase());
        writeln!(
            w,
            "{code},{name},commissioner,{},{contact}",
            orgs.code[region]
        )?;
        mailboxes.push((contact, name, "Primary Care".to_string(), code.clone()));
        orgs.code.push(code);
        orgs.kind.push(Kind::Commissioner);
    }

    let mut per_region = vec![0usize; regions];
    for p in 0..practices {
        let ccg = p * commissioners / practices;
        let region = ccg * regions / commissioners;
        let local = per_region[region];
        per_region[region] += 1;
        if local > 18_998 {
            return Err("too many practices in one region for 6-character codes".into());
        }
        let code = format!("{}{:05}", REGIONS[region].3, 81_001 + local);
        let name = format!("{} {}", rng.pick(PLACES), rng.pick(PRACTICE_SUFFIX));
        writeln!(
            w,
            "{code},{name},practice,{},",
            orgs.code[orgs.regions + ccg]
        )?;
        mailboxes.push((
            format!("gp.{}@nhs.net", code.to_ascii_lowercase()),
            name,
            "General Practice".to_string(),
            code.clone(),
        ));
        orgs.code.push(code);
        orgs.kind.push(Kind::Practice);
    }
    w.flush()?;

    const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    for t in 0..trusts {
        let code = format!(
            "R{}{}",
            (b'A' + (t % 26) as u8) as char,
            ALNUM[(t / 26) % ALNUM.len()] as char
        );
        orgs.trusts.push(code);
    }
    orgs.code_lc = orgs.code.iter().map(|c| c.to_ascii_lowercase()).collect();
    orgs.shared_made = vec![0; orgs.code.len()];
    Ok((orgs, mailboxes))
}

/// What to generate: `accounts` accounts from `seed`, into the folder `out`.
pub struct Args {
    pub accounts: u64,
    pub seed: u64,
    pub out: PathBuf,
}

const USAGE: &str = "usage: generate --accounts N --seed S --out DIR";

fn args() -> Result<Args, Box<dyn Error>> {
    let mut accounts = 1_000u64;
    let mut seed = 1u64;
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--accounts" => accounts = value()?.replace('_', "").parse()?,
            "--seed" => seed = value()?.parse()?,
            "--out" => out = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {arg}\n{USAGE}").into()),
        }
    }
    if accounts == 0 || accounts > 20_000_000 {
        return Err("--accounts must be between 1 and 20,000,000".into());
    }
    let out = out.ok_or(USAGE)?;
    Ok(Args {
        accounts,
        seed,
        out,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    generate(&args()?)
}

/// Writes the five files (tests/integration/pg_commands.rs includes this
/// file to generate a data set of its own).
pub fn generate(args: &Args) -> Result<(), Box<dyn Error>> {
    fs::create_dir_all(&args.out)?;
    let mut rng = Rng(args.seed ^ 0x5EED_CA11_AB1E_0001);
    let (orgs, mailboxes) = organisations(args.accounts, &args.out, &mut rng)?;

    let open = |name: &str, header: &str| -> io::Result<BufWriter<File>> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(args.out.join(name))?);
        w.write_all(header.as_bytes())?;
        Ok(w)
    };
    let out = Out {
        accounts: open(
            "accounts.csv",
            "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n",
        )?,
        permissions: open(
            "permissions.csv",
            "account_id,ods_code,role,payment_types\n",
        )?,
        directory: open(
            "directory.csv",
            "address,given_name,family_name,ods_code,status,mailbox_type\n",
        )?,
        activity: open(
            "activity.csv",
            "activity_id,ods_code,account_id,kind,occurred_at,detail\n",
        )?,
        n_accounts: 0,
        n_permissions: 0,
        n_directory: 0,
        n_activity: 0,
    };
    let mut generator = Generator {
        rng,
        names: Names::new(),
        orgs,
        out,
        email: String::with_capacity(128),
        scratch: String::with_capacity(128),
        roles: Vec::with_capacity(8),
    };

    for (address, given, family, code) in &mailboxes {
        generator
            .out
            .entry(address, given, family, code, true, true)?;
    }
    while generator.out.n_accounts < args.accounts {
        let room = args.accounts - generator.out.n_accounts;
        generator.person(room)?;
    }
    let target = (args.accounts as f64 * DIRECTORY_PER_ACCOUNT).round() as u64;
    generator.pad_directory(target)?;

    generator.out.accounts.flush()?;
    generator.out.permissions.flush()?;
    generator.out.directory.flush()?;
    generator.out.activity.flush()?;
    eprintln!(
        "wrote {}: {} organisations ({} regions, {} commissioners, {} practices), \
         {} accounts, {} permissions, {} directory entries, {} activity records",
        args.out.display(),
        generator.orgs.code.len(),
        generator.orgs.regions,
        generator.orgs.commissioners,
        generator.orgs.practices,
        generator.out.n_accounts,
        generator.out.n_permissions,
        generator.out.n_directory,
        generator.out.n_activity,
    );
    Ok(())
}
