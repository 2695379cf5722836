//! The staff course: Markdown in parts, each ending with a few questions, in a small format
//! owners can edit; parsing it, filling in the company's own names, and scoring answers. Pure.
//!
//! The format: a part starts with a level-one heading (`# Spotting a phishing link`); its text
//! is ordinary Markdown. A question starts with `??? ` and the question, then one line per
//! choice, `- [ ] wrong` or `- [x] right` (exactly one right), then one or more `> ` lines
//! saying why (shown when the answer was wrong):
//!
//! ```text
//! # Spotting a look-alike handle
//! Impostors copy the company's name with one letter changed.
//!
//! ??? Which account is the company's own?
//! - [ ] {lookalike_handle}
//! - [x] {handle}
//! > {lookalike_handle} has one letter changed: an impostor.
//! ```
//!
//! `{company}`, `{handle}`, `{lookalike_handle}`, `{domain}`, `{lookalike_domain}`,
//! `{phishing_link}` and `{incident_plan}` are replaced by the company's own names (see
//! [`Names`]) when the course is shown, so the examples are the company's own.

use std::fmt;

/// A course read from its Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub parts: Vec<Part>,
}

/// One part: its title, its text (Markdown) and its questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    pub markdown: String,
    pub questions: Vec<Question>,
}

/// One question with its choices, the right one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Counted from 0 across the whole course: answers are given by this number.
    pub number: usize,
    pub prompt: String,
    pub choices: Vec<String>,
    /// The index of the right choice.
    pub right: usize,
    pub why: String,
}

/// Why a course's Markdown cannot be used, with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseError {
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for CourseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// The share of right answers needed to pass, in percent.
pub const PASS_PERCENT: usize = 75;

/// The longest course accepted, in characters.
pub const LONGEST_COURSE: usize = 100_000;

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub right: usize,
    pub total: usize,
    pub passed: bool,
    /// Each question answered wrongly (or not at all): its number, and why the right answer is
    /// right.
    pub wrong: Vec<Wrong>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrong {
    pub number: usize,
    pub prompt: String,
    pub right_choice: String,
    pub why: String,
}

impl Course {
    /// Reads a course. Every question needs two choices or more, exactly one right, and a why;
    /// a course needs one part with a question at least.
    pub fn parse(markdown: &str) -> Result<Course, CourseError> {
        if markdown.chars().count() > LONGEST_COURSE {
            return Err(CourseError {
                line: 1,
                problem: format!("the course is longer than {LONGEST_COURSE} characters"),
            });
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut open: Option<(usize, Question)> = None;
        let mut count = 0;
        for (index, line) in markdown.lines().enumerate() {
            let line_number = index + 1;
            let at = |problem: &str| CourseError {
                line: line_number,
                problem: problem.to_owned(),
            };
            let trimmed = line.trim_end();
            if let Some(prompt) = trimmed.strip_prefix("??? ") {
                close(&mut parts, &mut open)?;
                let prompt = prompt.trim();
                if prompt.is_empty() {
                    return Err(at("a question needs its words after ???"));
                }
                if parts.is_empty() {
                    return Err(at("a question must come after a part's # heading"));
                }
                open = Some((
                    line_number,
                    Question {
                        number: count,
                        prompt: prompt.to_owned(),
                        choices: Vec::new(),
                        right: usize::MAX,
                        why: String::new(),
                    },
                ));
                count += 1;
                continue;
            }
            if let Some((_, question)) = open.as_mut() {
                if let Some(choice) = trimmed.strip_prefix("- [ ] ") {
                    question.choices.push(choice.trim().to_owned());
                    continue;
                }
                if let Some(choice) = trimmed
                    .strip_prefix("- [x] ")
                    .or_else(|| trimmed.strip_prefix("- [X] "))
                {
                    if question.right != usize::MAX {
                        return Err(at("a question has one right choice only"));
                    }
                    question.right = question.choices.len();
                    question.choices.push(choice.trim().to_owned());
                    continue;
                }
                if let Some(why) = trimmed.strip_prefix('>') {
                    if !question.why.is_empty() {
                        question.why.push(' ');
                    }
                    question.why.push_str(why.trim());
                    continue;
                }
                if trimmed.is_empty() && question.why.is_empty() {
                    continue;
                }
                close(&mut parts, &mut open)?;
            }
            if let Some(title) = trimmed.strip_prefix("# ") {
                parts.push(Part {
                    title: title.trim().to_owned(),
                    markdown: String::new(),
                    questions: Vec::new(),
                });
                continue;
            }
            match parts.last_mut() {
                Some(part) => {
                    part.markdown.push_str(line);
                    part.markdown.push('\n');
                }
                None if trimmed.is_empty() => {}
                None => return Err(at("the course must start with a part's # heading")),
            }
        }
        close(&mut parts, &mut open)?;
        if count == 0 {
            return Err(CourseError {
                line: markdown.lines().count().max(1),
                problem:
                    "the course has no question; add one with ??? (see the help below the editor)"
                        .to_owned(),
            });
        }
        for part in &mut parts {
            part.markdown = part.markdown.trim().to_owned();
        }
        Ok(Course { parts })
    }

    /// Every question, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.parts.iter().flat_map(|part| part.questions.iter())
    }

    /// Scores `answers`: for each question by number, the index of the choice given.
    pub fn score(&self, answers: &[Option<usize>]) -> Score {
        let mut right = 0;
        let mut wrong = Vec::new();
        for question in self.questions() {
            let given = answers.get(question.number).copied().flatten();
            if given == Some(question.right) {
                right += 1;
            } else {
                wrong.push(Wrong {
                    number: question.number,
                    prompt: question.prompt.clone(),
                    right_choice: question.choices[question.right].clone(),
                    why: question.why.clone(),
                });
            }
        }
        let total = right + wrong.len();
        Score {
            right,
            total,
            passed: total > 0 && right * 100 >= total * PASS_PERCENT,
            wrong,
        }
    }
}

/// Ends the open question, checking it is whole, and adds it to the last part.
fn close(parts: &mut [Part], open: &mut Option<(usize, Question)>) -> Result<(), CourseError> {
    let Some((line, question)) = open.take() else {
        return Ok(());
    };
    let at = |problem: &str| CourseError {
        line,
        problem: format!("the question \u{201c}{}\u{201d} {problem}", question.prompt),
    };
    if question.choices.len() < 2 {
        return Err(at("needs two choices or more (- [ ] and - [x] lines)"));
    }
    if question.right == usize::MAX {
        return Err(at("needs its right choice marked - [x]"));
    }
    if question.why.is_empty() {
        return Err(at("needs a > line saying why the right choice is right"));
    }
    if let Some(part) = parts.last_mut() {
        part.questions.push(question);
    }
    Ok(())
}

/// The company's own names the course's examples are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub company: String,
    /// One of the company's own handles (`@sunnycafe`).
    pub handle: String,
    /// One of its own domains (`sunnycafe.example`).
    pub domain: String,
    /// Where the plan for a hacked account is.
    pub incident_plan: String,
}

impl Names {
    /// The names from what the company has listed: its name, its accounts' handles and its
    /// domains; made up from the name where a list is empty.
    pub fn from_company(company: &str, handles: &[String], domains: &[String]) -> Names {
        // Letters with accents lose them (`Café` → `cafe`), as a domain name would.
        let compact: String = unicode_normalization::UnicodeNormalization::nfd(company)
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase();
        let compact = if compact.is_empty() {
            "yourcompany".to_owned()
        } else {
            compact
        };
        Names {
            company: company.trim().to_owned(),
            handle: handles
                .first()
                .cloned()
                .unwrap_or_else(|| format!("@{compact}")),
            domain: domains
                .first()
                .cloned()
                .unwrap_or_else(|| format!("{compact}.example")),
            incident_plan: "/incidents".to_owned(),
        }
    }

    /// A handle that imitates the company's: one letter swapped for a digit that looks like it
    /// (`@sunnycaf3`), or the name with a word added where no letter lends itself.
    pub fn lookalike_handle(&self) -> String {
        let (prefix, rest) = match self.handle.strip_prefix('@') {
            Some(rest) => ("@", rest),
            None => ("", self.handle.as_str()),
        };
        let (name, server) = match rest.split_once('@') {
            Some((name, server)) => (name, format!("@{server}")),
            None => (rest, String::new()),
        };
        format!("{prefix}{}{server}", imitate(name, "_help"))
    }

    /// A domain that imitates the company's: the name with a word added (`sunnycafe-login.example`).
    pub fn lookalike_domain(&self) -> String {
        match self.domain.split_once('.') {
            Some((brand, suffix)) => format!("{brand}-login.{suffix}"),
            None => format!("{}-login.com", self.domain),
        }
    }

    /// Replaces the placeholders in `markdown`.
    pub fn fill(&self, markdown: &str) -> String {
        markdown
            .replace("{company}", &self.company)
            .replace("{lookalike_handle}", &self.lookalike_handle())
            .replace("{handle}", &self.handle)
            .replace(
                "{phishing_link}",
                &format!("https://{}/account/verify", self.lookalike_domain()),
            )
            .replace("{lookalike_domain}", &self.lookalike_domain())
            .replace("{domain}", &self.domain)
            .replace("{incident_plan}", &self.incident_plan)
    }
}

/// `name` with its last letter that has a look-alike digit swapped for it, or `suffix` added.
fn imitate(name: &str, suffix: &str) -> String {
    let swap = |c: char| match c {
        'o' => Some('0'),
        'l' | 'i' => Some('1'),
        'e' => Some('3'),
        'a' => Some('4'),
        's' => Some('5'),
        _ => None,
    };
    let chars: Vec<char> = name.chars().collect();
    match chars.iter().rposition(|c| swap(*c).is_some()) {
        Some(at) => chars
            .iter()
            .enumerate()
            .map(|(index, c)| {
                if index == at {
                    swap(*c).unwrap_or(*c)
                } else {
                    *c
                }
            })
            .collect(),
        None => format!("{name}{suffix}"),
    }
}

/// The built-in course, used until an owner publishes their own version.
pub const BUILT_IN: &str = include_str!("training_course.md");

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "# One\nRead this.\n\n??? Pick b\n- [ ] a\n- [x] b\n> b is right\n\n# Two\n??? Pick a\n- [x] a\n- [ ] b\n> because a\n> (really)\nAfter the question.\n";

    #[test]
    fn a_course_reads_into_parts_with_numbered_questions() {
        let course = Course::parse(SMALL).expect("course");
        assert_eq!(course.parts.len(), 2);
        assert_eq!(course.parts[0].title, "One");
        assert_eq!(course.parts[0].markdown, "Read this.");
        assert_eq!(course.parts[1].questions[0].number, 1);
        assert_eq!(course.parts[1].questions[0].right, 0);
        assert_eq!(course.parts[1].questions[0].why, "because a (really)");
        assert_eq!(course.parts[1].markdown, "After the question.");
    }

    #[test]
    fn wrong_answers_are_explained_and_the_pass_mark_counts() {
        let course = Course::parse(SMALL).expect("course");
        let all_right = course.score(&[Some(1), Some(0)]);
        assert!(all_right.passed);
        assert_eq!((all_right.right, all_right.total), (2, 2));
        let one_wrong = course.score(&[Some(0), Some(0)]);
        assert!(!one_wrong.passed, "1 of 2 is below {PASS_PERCENT}%");
        assert_eq!(one_wrong.wrong.len(), 1);
        assert_eq!(one_wrong.wrong[0].right_choice, "b");
        assert_eq!(one_wrong.wrong[0].why, "b is right");
        assert_eq!(course.score(&[]).right, 0);
    }

    #[test]
    fn broken_questions_are_refused_with_their_line() {
        let cases = [
            ("# A\n??? Q\n- [x] only\n> why\n", 2, "two choices"),
            ("# A\n??? Q\n- [ ] a\n- [ ] b\n> why\n", 2, "right choice"),
            (
                "# A\n??? Q\n- [x] a\n- [x] b\n> why\n",
                4,
                "one right choice",
            ),
            ("# A\n??? Q\n- [x] a\n- [ ] b\n", 2, "why"),
            ("Intro\n# A\n", 1, "must start"),
            ("# A\nNo questions.\n", 2, "no question"),
        ];
        for (markdown, line, words) in cases {
            let error = Course::parse(markdown).expect_err(markdown);
            assert_eq!(error.line, line, "{markdown}: {error}");
            assert!(error.problem.contains(words), "{markdown}: {error}");
        }
    }

    #[test]
    fn the_examples_are_made_from_the_company_own_names() {
        let names = Names::from_company(
            "Sunny Café",
            &["@sunnycafe".to_owned()],
            &["sunnycafe.example".to_owned()],
        );
        assert_eq!(names.lookalike_handle(), "@sunnycaf3");
        assert_eq!(names.lookalike_domain(), "sunnycafe-login.example");
        let filled = names.fill("{handle} vs {lookalike_handle}; {phishing_link}; {company}");
        assert_eq!(
            filled,
            "@sunnycafe vs @sunnycaf3; https://sunnycafe-login.example/account/verify; Sunny Café"
        );
        let mastodon =
            Names::from_company("Sunny Café", &["@sunny@mastodon.social".to_owned()], &[]);
        assert_eq!(mastodon.lookalike_handle(), "@5unny@mastodon.social");
        assert_eq!(mastodon.domain, "sunnycafe.example");
        let looks = links::OwnNames::new(
            std::slice::from_ref(&names.domain),
            std::slice::from_ref(&names.handle),
        );
        assert!(looks.check_handle(&names.lookalike_handle()).is_some());
        assert!(looks.check_host(&names.lookalike_domain()).is_some());
    }

    #[test]
    fn the_built_in_course_reads_and_has_questions_in_every_part() {
        let course = Course::parse(BUILT_IN).expect("built-in course");
        assert!(course.parts.len() >= 4);
        for part in &course.parts {
            assert!(!part.questions.is_empty(), "{}", part.title);
        }
    }
}
