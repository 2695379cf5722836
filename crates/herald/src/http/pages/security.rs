//! The security page (`/security`): the company's practices measured with the page that fixes
//! each, every account's score and what lowers it, and the score's history as a small chart
//! drawn on the server (SVG, no script) — for owners and admins; every member sees their own
//! part.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Layout, PageError, render};
use crate::domain::access::Permission;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::services::security::{self, CompanyReview, Practice};

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: Layout,
    company: Option<CompanyReview>,
    chart: Option<Chart>,
    own: Vec<Practice>,
}

/// The history as an SVG polyline, with what a screen reader says of it.
#[derive(Debug)]
struct Chart {
    points: String,
    /// The last reading (today's), marked with a dot.
    last: (u32, u32),
    /// "from 52 on 2026-09-06 to 74 today".
    summary: String,
    width: u32,
    height: u32,
}

const WIDTH: u32 = 320;
const HEIGHT: u32 = 80;

pub async fn page(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewOwnAccount)?;
    let with_company = caller.require(Permission::ViewMembers).is_ok();
    let review = security::review(&state, &caller.user, with_company).await?;
    let chart = review
        .company
        .as_ref()
        .map(|company| chart(&company.history));
    let page = SecurityPage {
        layout: Layout::signed_in("Security · Herald", "/security", &caller),
        company: review.company,
        chart,
        own: review.own,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One point a day, left to right; 0 at the bottom, 100 at the top.
fn chart(history: &[(String, u8)]) -> Chart {
    let steps = u32::try_from(history.len().saturating_sub(1))
        .unwrap_or(1)
        .max(1);
    let place = |index: usize, score: u8| {
        let index = u32::try_from(index).unwrap_or(0);
        let x = if history.len() == 1 {
            WIDTH
        } else {
            index * WIDTH / steps
        };
        (x, HEIGHT - u32::from(score) * HEIGHT / 100)
    };
    let points = history
        .iter()
        .enumerate()
        .map(|(index, (_, score))| {
            let (x, y) = place(index, *score);
            format!("{x},{y}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let last = history.last().map_or((WIDTH, HEIGHT), |(_, score)| {
        place(history.len() - 1, *score)
    });
    let summary = match (history.first(), history.last()) {
        (Some((first_day, first)), Some((_, last))) if history.len() > 1 => {
            format!("The score went from {first} on {first_day} to {last} today.")
        }
        (_, Some((_, last))) => format!("The score is {last} today; the history starts now."),
        _ => "No score yet.".to_owned(),
    };
    Chart {
        points,
        last,
        summary,
        width: WIDTH,
        height: HEIGHT,
    }
}

#[cfg(test)]
mod tests {
    use super::chart;

    #[test]
    fn the_chart_runs_from_left_to_right_with_100_at_the_top() {
        let drawn = chart(&[
            ("2026-12-01".to_owned(), 50),
            ("2026-12-02".to_owned(), 100),
            ("2026-12-03".to_owned(), 0),
        ]);
        assert_eq!(drawn.points, "0,40 160,0 320,80");
        assert_eq!(drawn.last, (320, 80));
        assert!(drawn.summary.contains("from 50 on 2026-12-01 to 0 today"));
        assert_eq!(chart(&[("2026-12-03".to_owned(), 75)]).points, "320,20");
    }
}
