//! The form that adds a patient or edits one: every field is text while typing, checked on
//! save, and a bad field gets a message under it. Nothing typed is dropped on a failed save.

use super::field::TextField;
use crate::model::{Patient, PatientId};
use jiff::civil::Date;

/// The fields, in the order Tab walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Name,
    Born,
    Sex,
    Pronouns,
    Weight,
    Tags,
    ContactNote,
}

impl FormField {
    pub const ALL: [FormField; 7] = [
        FormField::Name,
        FormField::Born,
        FormField::Sex,
        FormField::Pronouns,
        FormField::Weight,
        FormField::Tags,
        FormField::ContactNote,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FormField::Name => "Name",
            FormField::Born => "Date of birth",
            FormField::Sex => "Sex",
            FormField::Pronouns => "Pronouns",
            FormField::Weight => "Weight (kg)",
            FormField::Tags => "Tags",
            FormField::ContactNote => "Contact note",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            FormField::Name => "required",
            FormField::Born => "YYYY-MM-DD",
            FormField::Sex => "female, male or other (the REMS form asks)",
            FormField::Pronouns => "e.g. she/her",
            FormField::Weight => "for mg/kg doses",
            FormField::Tags => "comma-separated",
            FormField::ContactNote => "who to call, how to reach them",
        }
    }
}

/// Add a new patient, or edit the one with this id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FormTarget {
    New,
    Edit(Box<Patient>),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PatientForm {
    pub target: FormTarget,
    pub fields: Vec<TextField>,
    pub focused: usize,
    /// A message per field after a failed save.
    pub errors: Vec<Option<String>>,
    /// The text when the form opened, to tell whether anything was typed.
    initial: Vec<String>,
}

impl PatientForm {
    pub fn new_patient() -> Self {
        Self::with_values(FormTarget::New, vec![String::new(); FormField::ALL.len()])
    }

    pub fn edit(p: &Patient) -> Self {
        let values = vec![
            p.name.clone(),
            p.born.map(|d| d.to_string()).unwrap_or_default(),
            p.sex.map(|x| x.label().to_owned()).unwrap_or_default(),
            p.pronouns.clone().unwrap_or_default(),
            p.weight_kg.map(|w| w.to_string()).unwrap_or_default(),
            p.tags.join(", "),
            p.contact_note.clone(),
        ];
        Self::with_values(FormTarget::Edit(Box::new(p.clone())), values)
    }

    fn with_values(target: FormTarget, values: Vec<String>) -> Self {
        Self {
            target,
            fields: values.iter().map(|v| TextField::new(v)).collect(),
            focused: 0,
            errors: vec![None; values.len()],
            initial: values,
        }
    }

    pub fn title(&self) -> String {
        match &self.target {
            FormTarget::New => "New patient".to_string(),
            FormTarget::Edit(p) => format!("Edit {}", p.name),
        }
    }

    pub fn field(&mut self) -> &mut TextField {
        &mut self.fields[self.focused]
    }

    pub fn value(&self, f: FormField) -> &str {
        self.fields.get(f as usize).map_or("", |t| t.text())
    }

    /// The form with the cursor on `f`.
    pub fn focus(mut self, f: FormField) -> Self {
        self.focused = f as usize;
        self
    }

    /// A form kept by an older kitnotes, before the sex field, gets it empty in its place (so
    /// no text lands in another field); any other count of fields is padded or cut to fit.
    pub fn upgrade(&mut self) {
        let n = FormField::ALL.len();
        if self.fields.len() == n - 1 {
            let at = FormField::Sex as usize;
            self.fields.insert(at, TextField::default());
            self.initial.insert(at, String::new());
            self.errors.insert(at, None);
        }
        self.fields.resize_with(n, TextField::default);
        self.initial.resize_with(n, String::new);
        self.errors.resize(n, None);
        self.focused = self.focused.min(n - 1);
    }

    /// Whether anything differs from what the form opened with.
    pub fn is_dirty(&self) -> bool {
        self.fields
            .iter()
            .zip(&self.initial)
            .any(|(f, v)| f.text() != v)
    }

    pub fn move_focus(&mut self, delta: isize) {
        let n = self.fields.len() as isize;
        self.focused = (self.focused as isize + delta).rem_euclid(n) as usize;
    }

    /// Checks every field. On success gives the patient to save (a new one gets `new_id`);
    /// on failure the messages are set and focus goes to the first bad field.
    pub fn submit(&mut self, new_id: PatientId, today: Date) -> Option<Patient> {
        self.errors = vec![None; self.fields.len()];
        let mut patient = match &self.target {
            FormTarget::New => Patient::new(new_id, ""),
            FormTarget::Edit(p) => (**p).clone(),
        };
        patient.name = self.value(FormField::Name).trim().to_string();
        if patient.name.is_empty() {
            self.errors[FormField::Name as usize] = Some("a patient needs a name".into());
        }
        match parse_born(self.value(FormField::Born), today) {
            Ok(d) => patient.born = d,
            Err(e) => self.errors[FormField::Born as usize] = Some(e),
        }
        let sex = self.value(FormField::Sex).trim();
        if sex.is_empty() {
            patient.sex = None;
        } else {
            match crate::model::Sex::parse(sex) {
                Some(x) => patient.sex = Some(x),
                None => {
                    self.errors[FormField::Sex as usize] =
                        Some(format!("{sex:?} is not female, male or other (f, m, o)"))
                }
            }
        }
        patient.pronouns = non_empty(self.value(FormField::Pronouns));
        match parse_weight(self.value(FormField::Weight)) {
            Ok(w) => patient.weight_kg = w,
            Err(e) => self.errors[FormField::Weight as usize] = Some(e),
        }
        patient.tags = self
            .value(FormField::Tags)
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        patient.contact_note = self.value(FormField::ContactNote).trim().to_string();
        if let Some(first_bad) = self.errors.iter().position(Option::is_some) {
            self.focused = first_bad;
            return None;
        }
        if let Err(e) = patient.validate() {
            // The model's own rules have the last word; show its message on the form.
            let at = match e.field.as_str() {
                "born" => FormField::Born,
                "weight_kg" => FormField::Weight,
                "tags" => FormField::Tags,
                "pronouns" => FormField::Pronouns,
                "contact_note" => FormField::ContactNote,
                _ => FormField::Name,
            } as usize;
            self.errors[at] = Some(e.message);
            self.focused = at;
            return None;
        }
        Some(patient)
    }

    pub fn error_count(&self) -> usize {
        self.errors.iter().flatten().count()
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_born(text: &str, today: Date) -> Result<Option<Date>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date: Date = text
        .parse()
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))?;
    if date > today {
        return Err(format!("{date} is after today ({today})"));
    }
    if date.year() < 1900 {
        return Err(format!("{date} is before 1900; check the year"));
    }
    Ok(Some(date))
}

fn parse_weight(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim().trim_end_matches("kg").trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.replace(',', ".").parse::<f64>() {
        Ok(w) if crate::model::patient::is_plausible_weight(w) => Ok(Some(w)),
        Ok(w) => Err(format!("{w} kg is not a possible weight (0 to 700)")),
        Err(_) => Err(format!("{text:?} is not a number of kilograms")),
    }
}

impl super::component::Component for PatientForm {
    fn mode(&self) -> &'static str {
        "FORM"
    }
    fn hints(&self) -> &'static [super::Action] {
        super::component::FORM_HINTS
    }
    fn hint_word(&self, action: super::Action) -> Option<&'static str> {
        (action == super::Action::PopupConfirm).then_some("save")
    }
    fn field(&mut self) -> Option<&mut TextField> {
        Some(PatientForm::field(self))
    }
    fn update(&mut self, action: super::Action) -> super::component::Outcome {
        use super::Action;
        use super::component::Outcome;
        match action {
            Action::FieldNext | Action::MoveDown => self.move_focus(1),
            Action::FieldPrev | Action::MoveUp => self.move_focus(-1),
            Action::PopupConfirm => return Outcome::Confirm,
            // Closing keeps what was typed (App::close_popup).
            Action::PopupClose => return Outcome::Close,
            // A form open at a quit is kept in the store and comes back at the next start.
            Action::Quit => return Outcome::Quit,
            _ => return Outcome::NotHere,
        }
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn id() -> PatientId {
        PatientId::parse("p-new").unwrap()
    }

    #[test]
    fn a_bad_date_is_named_and_nothing_typed_is_lost() {
        const B: usize = FormField::Born as usize;
        const W: usize = FormField::Weight as usize;
        let mut f = PatientForm::new_patient();
        f.fields[0] = TextField::new("Iris Vale");
        f.fields[B] = TextField::new("1984-13-40");
        f.fields[W] = TextField::new("heavy");
        assert!(f.submit(id(), date(2026, 11, 21)).is_none());
        assert_eq!(f.focused, FormField::Born as usize);
        assert!(f.errors[B].as_deref().unwrap().contains("YYYY-MM-DD"));
        assert!(f.errors[W].as_deref().unwrap().contains("kilograms"));
        assert_eq!(f.value(FormField::Name), "Iris Vale");
        assert_eq!(f.value(FormField::Born), "1984-13-40");
        f.fields[B] = TextField::new("2030-01-01");
        f.fields[W] = TextField::new("61,5 kg");
        assert!(f.submit(id(), date(2026, 11, 21)).is_none());
        assert!(f.errors[B].as_deref().unwrap().contains("after today"));
        assert_eq!(f.error_count(), 1);
        f.fields[B] = TextField::new("1984-07-09");
        let p = f.submit(id(), date(2026, 11, 21)).unwrap();
        assert_eq!(p.born, Some(date(1984, 7, 9)));
        assert_eq!(p.weight_kg, Some(61.5));
    }

    #[test]
    fn sex_is_read_from_the_form_and_a_bad_one_is_named() {
        const X: usize = FormField::Sex as usize;
        let mut f = PatientForm::new_patient();
        f.fields[0] = TextField::new("Iris Vale");
        f.fields[X] = TextField::new("unknown");
        assert!(f.submit(id(), date(2026, 11, 21)).is_none());
        assert_eq!(f.focused, X);
        assert!(
            f.errors[X]
                .as_deref()
                .unwrap()
                .contains("female, male or other")
        );
        f.fields[X] = TextField::new("F");
        let p = f.submit(id(), date(2026, 11, 21)).unwrap();
        assert_eq!(p.sex, Some(crate::model::Sex::Female));
        assert_eq!(PatientForm::edit(&p).value(FormField::Sex), "female");
    }

    #[test]
    fn a_form_kept_before_the_sex_field_comes_back_with_each_text_in_its_field() {
        let mut f = PatientForm::new_patient();
        f.fields.remove(FormField::Sex as usize);
        f.errors.remove(FormField::Sex as usize);
        f.initial.remove(FormField::Sex as usize);
        f.fields[2] = TextField::new("they/them");
        f.upgrade();
        assert_eq!(f.value(FormField::Pronouns), "they/them");
        assert_eq!(f.value(FormField::Sex), "");
        assert_eq!(f.fields.len(), FormField::ALL.len());
    }

    #[test]
    fn editing_keeps_what_the_form_does_not_show() {
        let mut p = Patient::new(PatientId::parse("p7").unwrap(), "Old Name");
        p.archived = true;
        p.tags = vec!["esketamine".into(), "rems".into()];
        let mut f = PatientForm::edit(&p);
        assert!(!f.is_dirty());
        assert_eq!(f.value(FormField::Tags), "esketamine, rems");
        f.fields[0] = TextField::new("New Name");
        assert!(f.is_dirty());
        let saved = f.submit(id(), date(2026, 1, 1)).unwrap();
        assert_eq!(saved.id.as_str(), "p7");
        assert!(saved.archived);
        assert_eq!(saved.name, "New Name");
        assert_eq!(saved.tags, p.tags);
    }
}
