//! When a post goes out: a date and time someone chose, read in a time zone, or the account's
//! next free queue slot. Times are kept in UTC; a slot is a local time in the account's zone,
//! so "Tuesday 09:00" stays 09:00 on the wall clock across daylight-saving changes, and a post
//! once scheduled never moves when the clocks do.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How far ahead the queue looks for a free slot.
const QUEUE_HORIZON_DAYS: i32 = 366;
/// How long after its time a post may still be approved and sent (a minute's grace, so an
/// approval clicked at 09:00:20 for 09:00 still goes out).
pub const APPROVAL_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// A time zone by its IANA name, e.g. `Europe/London`.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    zone: TimeZone,
}

/// One weekly queue slot: a weekday and a local time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub struct Slot {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i8,
    /// Minutes after local midnight, 0–1439.
    pub minute: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?}; use a name such as Europe/London or America/New_York")]
    UnknownZone(String),
    #[error(
        "{0:?} is not a date and time; use 2026-12-24T09:30 (in the account's time zone) or 2026-12-24T09:30:00Z"
    )]
    BadTime(String),
    #[error("{0:?} is not a time of day; use 09:30")]
    BadTimeOfDay(String),
    #[error("{at} is in the past; choose a time after {now}")]
    InThePast { at: String, now: String },
    #[error("the weekday must be 1 (Monday) to 7 (Sunday)")]
    BadWeekday,
    #[error("this account has no queue slots yet; add some, or choose a date and time")]
    NoSlots,
    #[error("every queue slot for the next year is taken; add slots or choose a date and time")]
    QueueFull,
}

impl Zone {
    /// A zone by its IANA name (`Europe/London`, any case), or by its city alone as people
    /// write it (`London`, `new york`) when exactly one zone ends with that city.
    pub fn parse(name: &str) -> Result<Zone, ScheduleError> {
        let name = name.trim();
        if let Ok(zone) = TimeZone::get(name) {
            return Ok(Zone {
                name: name.to_owned(),
                zone,
            });
        }
        let city = name.replace(' ', "_");
        let unknown = || ScheduleError::UnknownZone(name.to_owned());
        if city.is_empty() || city.contains('/') {
            return Err(unknown());
        }
        let mut matches = jiff::tz::db().available().filter(|candidate| {
            candidate
                .as_str()
                .rsplit('/')
                .next()
                .is_some_and(|last| last.eq_ignore_ascii_case(&city))
                && candidate.as_str().contains('/')
        });
        let (Some(found), None) = (matches.next(), matches.next()) else {
            return Err(unknown());
        };
        let full = found.as_str().to_owned();
        let zone = TimeZone::get(&full).map_err(|_| unknown())?;
        Ok(Zone { name: full, zone })
    }

    /// The zones people pick from, `Area/City` by region and then `UTC`: the IANA names of
    /// places, without the legacy aliases (`US/Pacific`, `EST5EDT`, `Etc/GMT+5`). Read once.
    pub fn names() -> &'static [String] {
        static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            const REGIONS: &[&str] = &[
                "Africa",
                "America",
                "Antarctica",
                "Arctic",
                "Asia",
                "Atlantic",
                "Australia",
                "Europe",
                "Indian",
                "Pacific",
            ];
            let mut names: Vec<String> = jiff::tz::db()
                .available()
                .map(|name| name.as_str().to_owned())
                .filter(|name| {
                    name.split_once('/')
                        .is_some_and(|(region, _)| REGIONS.contains(&region))
                })
                .collect();
            names.sort();
            names.push("UTC".to_owned());
            names
        });
        &NAMES
    }

    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// `at` as a local date and time in this zone.
    pub fn local(&self, at: Timestamp) -> DateTime {
        at.to_zoned(self.zone.clone()).datetime()
    }

    /// The instant `date` starts here: its midnight, or its first moment on a day a clock
    /// change skips midnight.
    pub fn day_start(&self, date: Date) -> Result<Timestamp, jiff::Error> {
        date.to_zoned(self.zone.clone())
            .map(|zoned| zoned.timestamp())
    }

    /// `at` written for people: `2026-12-24 09:30 (Europe/London)`.
    pub fn show(&self, at: Timestamp) -> String {
        format!(
            "{} ({})",
            self.local(at).strftime("%Y-%m-%d %H:%M"),
            self.name
        )
    }

    /// A local date and time here as an instant. A time skipped by a clock change (02:30 on
    /// the night clocks go forward) means the same wall-clock distance after the change; a
    /// time that happens twice means the first.
    pub fn instant(&self, local: DateTime) -> Option<Timestamp> {
        self.zone
            .to_ambiguous_zoned(local)
            .compatible()
            .ok()
            .map(|zoned| zoned.timestamp())
    }
}

impl Slot {
    pub fn new(weekday: i8, time: &str) -> Result<Slot, ScheduleError> {
        if !(1..=7).contains(&weekday) {
            return Err(ScheduleError::BadWeekday);
        }
        let bad = || ScheduleError::BadTimeOfDay(time.to_owned());
        let parsed: Time = time.trim().parse().map_err(|_| bad())?;
        Ok(Slot {
            weekday,
            minute: i16::from(parsed.hour()) * 60 + i16::from(parsed.minute()),
        })
    }

    /// `09:30`.
    pub fn time(self) -> String {
        format!("{:02}:{:02}", self.minute / 60, self.minute % 60)
    }

    fn at(self, date: Date) -> DateTime {
        let (hour, minute) = (self.minute / 60, self.minute % 60);
        date.to_datetime(Time::constant(
            i8::try_from(hour).unwrap_or(0),
            i8::try_from(minute).unwrap_or(0),
            0,
            0,
        ))
    }
}

/// Reads a time someone typed: with an offset or `Z` it is that instant; without, it is a
/// local time in `zone` (what a `datetime-local` form field sends).
pub fn parse_time(text: &str, zone: &Zone) -> Result<Timestamp, ScheduleError> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let local: DateTime = text
        .parse()
        .map_err(|_| ScheduleError::BadTime(text.to_owned()))?;
    zone.instant(local)
        .ok_or_else(|| ScheduleError::BadTime(text.to_owned()))
}

/// Refuses a time that has passed.
pub fn require_future(at: Timestamp, now: Timestamp, zone: &Zone) -> Result<(), ScheduleError> {
    if at > now {
        return Ok(());
    }
    Err(ScheduleError::InThePast {
        at: zone.show(at),
        now: zone.show(now),
    })
}

/// The first slot after `now` that no post in `taken` already has.
pub fn next_free_slot(
    slots: &[Slot],
    zone: &Zone,
    now: Timestamp,
    taken: &BTreeSet<Timestamp>,
) -> Result<Timestamp, ScheduleError> {
    if slots.is_empty() {
        return Err(ScheduleError::NoSlots);
    }
    let mut slots = slots.to_vec();
    slots.sort_by_key(|slot| slot.minute);
    let today = zone.local(now).date();
    for offset in 0..QUEUE_HORIZON_DAYS {
        let Ok(date) = today.checked_add(offset.days()) else {
            break;
        };
        let weekday = date.weekday().to_monday_one_offset();
        for slot in slots.iter().filter(|slot| slot.weekday == weekday) {
            let Some(at) = zone.instant(slot.at(date)) else {
                continue;
            };
            if at > now && !taken.contains(&at) {
                return Ok(at);
            }
        }
    }
    Err(ScheduleError::QueueFull)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_zones_to_pick_from_are_places_not_aliases() {
        let names = Zone::names();
        assert!(names.len() > 300, "{}", names.len());
        for wanted in ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"] {
            assert!(names.iter().any(|name| name == wanted), "{wanted} missing");
        }
        for alias in ["US/Pacific", "EST5EDT", "Etc/GMT+5", "GB"] {
            assert!(!names.iter().any(|name| name == alias), "{alias} offered");
        }
        assert!(names.iter().all(|name| Zone::parse(name).is_ok()));
    }

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test time")
    }

    fn london() -> Zone {
        Zone::parse("Europe/London").expect("tzdb has London")
    }

    #[test]
    fn local_times_are_read_in_the_accounts_zone_and_offsets_win() {
        let zone = london();
        assert_eq!(
            parse_time("2026-07-01T09:30", &zone),
            Ok(at("2026-07-01T08:30:00Z")),
            "BST is UTC+1"
        );
        assert_eq!(
            parse_time("2026-12-01T09:30", &zone),
            Ok(at("2026-12-01T09:30:00Z"))
        );
        assert_eq!(
            parse_time("2026-07-01T09:30:00Z", &zone),
            Ok(at("2026-07-01T09:30:00Z"))
        );
        assert!(matches!(
            parse_time("next tuesday", &zone),
            Err(ScheduleError::BadTime(_))
        ));
        assert!(matches!(
            Zone::parse("Mars/Olympus"),
            Err(ScheduleError::UnknownZone(_))
        ));
    }

    #[test]
    fn a_city_alone_names_its_zone_when_only_one_zone_has_it() {
        assert_eq!(
            Zone::parse("London").map(|zone| zone.name().to_owned()),
            Ok("Europe/London".to_owned())
        );
        assert_eq!(
            Zone::parse("new york").map(|zone| zone.name().to_owned()),
            Ok("America/New_York".to_owned())
        );
        assert!(matches!(
            Zone::parse("Atlantis"),
            Err(ScheduleError::UnknownZone(_))
        ));
        assert!(matches!(
            Zone::parse(""),
            Err(ScheduleError::UnknownZone(_))
        ));
    }

    #[test]
    fn a_time_in_the_past_is_refused_with_both_times_shown() {
        let error = require_future(
            at("2026-01-01T10:00:00Z"),
            at("2026-01-01T10:00:00Z"),
            &london(),
        )
        .expect_err("now is not the future");
        assert_eq!(
            error.to_string(),
            "2026-01-01 10:00 (Europe/London) is in the past; choose a time after 2026-01-01 10:00 (Europe/London)"
        );
    }

    #[test]
    fn the_queue_takes_the_next_free_slot_in_local_time() {
        let zone = london();
        let slots = [
            Slot::new(2, "09:00").expect("slot"),
            Slot::new(2, "17:30").expect("slot"),
        ];
        // Monday 2026-12-07 12:00 UTC: the next slot is Tuesday 09:00.
        let now = at("2026-12-07T12:00:00Z");
        let mut taken = BTreeSet::new();
        let first = next_free_slot(&slots, &zone, now, &taken).expect("slot");
        assert_eq!(first, at("2026-12-08T09:00:00Z"));
        taken.insert(first);
        let second = next_free_slot(&slots, &zone, now, &taken).expect("slot");
        assert_eq!(second, at("2026-12-08T17:30:00Z"));
        taken.insert(second);
        assert_eq!(
            next_free_slot(&slots, &zone, now, &taken),
            Ok(at("2026-12-15T09:00:00Z")),
            "then the week after"
        );
        assert_eq!(
            next_free_slot(&[], &zone, now, &taken),
            Err(ScheduleError::NoSlots)
        );
    }

    #[test]
    fn slots_keep_their_wall_clock_time_across_daylight_saving_changes() {
        let zone = london();
        let sunday_nine = [Slot::new(7, "09:00").expect("slot")];
        // Clocks go forward on Sunday 2027-03-28: 09:00 is 08:00 UTC that day, 09:00 UTC the
        // Sunday before.
        let before = next_free_slot(
            &sunday_nine,
            &zone,
            at("2027-03-20T12:00:00Z"),
            &BTreeSet::new(),
        );
        assert_eq!(before, Ok(at("2027-03-21T09:00:00Z")));
        let after = next_free_slot(
            &sunday_nine,
            &zone,
            at("2027-03-27T12:00:00Z"),
            &BTreeSet::new(),
        );
        assert_eq!(after, Ok(at("2027-03-28T08:00:00Z")));
        // 01:30 does not exist that night; it means 02:30 BST (01:30 UTC).
        let gap = parse_time("2027-03-28T01:30", &zone).expect("gap resolves");
        assert_eq!(gap, at("2027-03-28T01:30:00Z"));
        assert_eq!(
            zone.show(after.expect("slot")),
            "2027-03-28 09:00 (Europe/London)"
        );
    }

    #[test]
    fn slots_are_checked_when_made() {
        assert_eq!(Slot::new(8, "09:00"), Err(ScheduleError::BadWeekday));
        assert!(matches!(
            Slot::new(1, "25:00"),
            Err(ScheduleError::BadTimeOfDay(_))
        ));
        let slot = Slot::new(1, "07:05").expect("slot");
        assert_eq!((slot.minute, slot.time()), (425, "07:05".to_owned()));
    }
}
