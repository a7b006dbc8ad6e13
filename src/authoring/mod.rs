//! Tools for menu authors (`daftar check`): the faults of a menu set, stable shortcuts checked
//! by walking them as the engine does (`shortcuts`), a table of every screen's length with
//! sample values, encoding and pages (`report`, `samples`), and journey files played through
//! the real engine (`journey`).
//!
//! Above the engine: it reads menus, walks them with `flow`, renders with `actions::render`, and
//! (journeys) builds the engine as `app` does. Nothing on the request path calls into it but
//! [`faults`], which start-up and menu reload use too, so a menu that breaks a printed shortcut
//! is refused everywhere `check` refuses it.

pub(crate) mod journey;
pub(crate) mod report;
pub(crate) mod samples;
pub(crate) mod shortcuts;

use crate::menu::check::{check, Fault};
use crate::menu::Menus;
use crate::text::gsm7::Budget;

/// Every fault of `menus` against `budget`: the checker's, then the broken shortcuts.
pub(crate) fn faults(menus: &Menus, budget: Budget) -> Vec<Fault> {
    let mut faults = check(menus, budget);
    faults.extend(shortcuts::faults(menus));
    faults
}
