//! The Today view and the Course view, driven with keys on the demo store at a fixed clock.

mod common;

use common::*;

#[test]
fn today_lists_what_needs_doing_across_patients() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "t");
        let s = screen(&f.app);
        insta::assert_snapshot!(format!("today_{}x{}", size.0, size.1), s);
    }
}

#[test]
fn course_view_of_a_patient() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "<Down>c");
        let s = screen(&f.app);
        insta::assert_snapshot!(format!("course_{}x{}", size.0, size.1), s);
    }
}
