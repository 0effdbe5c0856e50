//! Phrase banks for the demo caseload and the small template filler that combines them.
//!
//! Everything here is invented. Sentences are written in the terse third-person style of real
//! progress notes, and avoid pronoun-verb pairs (`{n}` is the subject, `{their}` and `{them}` are
//! safe for any pronoun set) so every combination stays grammatical. Slots (`{rel}`, `{place}`,
//! ...) are filled per patient, so the same few hundred templates give many thousands of distinct
//! sentences, and a patient's recurring people and interests become searchable themes.

use crate::clock::SeededRng;

/// What a patient's notes keep coming back to. Each patient has a few, with weights, so a word
/// like "sister" or "sleep" is frequent for some patients and absent for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Theme {
    Family,
    Work,
    Sleep,
    Grief,
    Music,
    Nature,
    Body,
    Trauma,
    Meaning,
    SelfWorth,
}

impl Theme {
    pub(super) const ALL: [Theme; 10] = [
        Theme::Family,
        Theme::Work,
        Theme::Sleep,
        Theme::Grief,
        Theme::Music,
        Theme::Nature,
        Theme::Body,
        Theme::Trauma,
        Theme::Meaning,
        Theme::SelfWorth,
    ];

    /// Reflective sentences about the theme, usable in experience, meaning, insight and process
    /// sections alike.
    fn lines(self) -> &'static [&'static str] {
        match self {
            Theme::Family => FAMILY,
            Theme::Work => WORK,
            Theme::Sleep => SLEEP,
            Theme::Grief => GRIEF,
            Theme::Music => MUSIC,
            Theme::Nature => NATURE,
            Theme::Body => BODY,
            Theme::Trauma => TRAUMA,
            Theme::Meaning => MEANING_THEME,
            Theme::SelfWorth => SELF_WORTH,
        }
    }
}

/// The per-patient words the templates are filled with.
#[derive(Debug, Clone)]
pub(super) struct Voice {
    pub first: &'static str,
    pub their: &'static str,
    pub them: &'static str,
    /// Family members and close people, most talked-about first.
    pub relations: Vec<&'static str>,
    /// The one person who brings the patient to sessions, collects them and is their emergency
    /// contact: always the same, so notes never disagree about who it was.
    pub escort: &'static str,
    /// Age in years at the anchor date: a relation the age rules out is never named.
    pub age: i64,
    /// Someone (or an animal) the patient has lost.
    pub lost: &'static str,
    pub place: &'static str,
    pub music: &'static str,
    pub activity: &'static str,
    pub work: &'static str,
    /// Themes with weights.
    pub themes: Vec<(Theme, u32)>,
}

/// Fills templates for one patient from one generator.
pub(super) struct Writer<'a> {
    pub rng: &'a mut SeededRng,
    pub voice: &'a Voice,
}

impl Writer<'_> {
    /// Appends `template` with its slots filled. Unknown slots are copied as they are, so a typo
    /// in a bank shows up in the demo instead of panicking.
    pub fn fill(&mut self, out: &mut String, template: &str) {
        self.fill_nested(out, template, 0);
    }

    /// Slot values may hold slots themselves (a place "near {their} childhood home"); `depth`
    /// stops a bank that names itself from recursing forever.
    fn fill_nested(&mut self, out: &mut String, template: &str, depth: u8) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return;
            };
            let key = &after[..close];
            match self.slot(key) {
                Some(word) if depth < 2 && word.contains('{') => {
                    self.fill_nested(out, word, depth + 1)
                }
                Some(word) => out.push_str(word),
                None => {
                    out.push('{');
                    out.push_str(key);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
    }

    fn slot(&mut self, key: &str) -> Option<&'static str> {
        let v = self.voice;
        Some(match key {
            "n" => v.first,
            "their" => v.their,
            "them" => v.them,
            "rel" => {
                let r = self.relation();
                if super::profile::fits_age(r, v.age) {
                    r
                } else {
                    v.escort
                }
            }
            "rel0" => v
                .relations
                .first()
                .copied()
                .filter(|r| super::profile::fits_age(r, v.age))
                .unwrap_or(v.escort),
            // Drawn like `{rel}` (so the rest of the demo reads the same for a seed), but always
            // the patient's one escort.
            "escort" => {
                self.relation();
                v.escort
            }
            "lost" => v.lost,
            "place" => v.place,
            "music" => v.music,
            "act" => v.activity,
            "work" => v.work,
            "feel" => self.pick(FEELINGS),
            "feel2" => self.pick(FEELINGS),
            "body" => self.pick(BODY_PARTS),
            "img" => self.pick(IMAGERY),
            "num" => self.pick(SMALL_NUMBERS),
            "days" => self.pick(WEEKDAYS),
            _ => return None,
        })
    }

    /// The first relation is talked about most: half the time it is the one named.
    fn relation(&mut self) -> &'static str {
        let rels = &self.voice.relations;
        match rels.len() {
            0 => "partner",
            1 => rels[0],
            n => {
                if self.rng.chance(0.5) {
                    rels[0]
                } else {
                    rels[1 + self.rng.below(n as u64 - 1) as usize]
                }
            }
        }
    }

    pub fn pick(&mut self, bank: &'static [&'static str]) -> &'static str {
        if bank.is_empty() {
            return "";
        }
        bank[self.rng.below(bank.len() as u64) as usize]
    }

    /// Appends one filled sentence from `bank`, separated from what came before by a space.
    pub fn sentence(&mut self, out: &mut String, bank: &'static [&'static str]) {
        let t = self.pick(bank);
        self.append_sentence(out, t);
    }

    /// Appends `template` filled as a sentence: spaced from the text before it, and capitalised
    /// when it starts with a slot ("{act} three times..." becomes "Walking three times...").
    fn append_sentence(&mut self, out: &mut String, template: &str) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        let from = out.len();
        self.fill(out, template);
        if let Some(first) = out[from..].chars().next()
            && first.is_lowercase()
        {
            let upper: String = first.to_uppercase().collect();
            out.replace_range(from..from + first.len_utf8(), &upper);
        }
    }

    /// Appends `count` different sentences from `bank` (fewer if the bank is smaller).
    pub fn sentences(&mut self, out: &mut String, bank: &'static [&'static str], count: usize) {
        let mut used: Vec<usize> = Vec::with_capacity(count);
        while used.len() < count.min(bank.len()) {
            let i = self.rng.below(bank.len() as u64) as usize;
            if used.contains(&i) {
                continue;
            }
            used.push(i);
            self.append_sentence(out, bank[i]);
        }
    }

    /// A theme chosen by the patient's weights.
    pub fn theme(&mut self) -> Theme {
        let total: u32 = self.voice.themes.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Theme::Meaning;
        }
        let mut x = self.rng.below(u64::from(total)) as u32;
        for (t, w) in &self.voice.themes {
            if x < *w {
                return *t;
            }
            x -= w;
        }
        Theme::Meaning
    }

    /// Appends one sentence about one of the patient's themes.
    pub fn theme_sentence(&mut self, out: &mut String) {
        let bank = self.theme().lines();
        self.sentence(out, bank);
    }
}

pub(super) const FEELINGS: &[&str] = &[
    "grief",
    "relief",
    "tenderness",
    "fear",
    "anger",
    "calm",
    "warmth",
    "sadness",
    "gratitude",
    "shame",
    "awe",
    "loneliness",
    "hope",
    "peace",
    "longing",
    "curiosity",
];

const BODY_PARTS: &[&str] = &[
    "chest",
    "hands",
    "throat",
    "stomach",
    "shoulders",
    "jaw",
    "back",
    "legs",
];

const IMAGERY: &[&str] = &[
    "floating above a dark, calm sea",
    "a long corridor of soft light",
    "slowly turning geometric colours",
    "being a small child in the kitchen at home",
    "a house with every window open",
    "standing at the edge of a wide field",
    "dissolving into warm sand",
    "a night sky that kept getting bigger",
    "walking through rooms of an old school",
    "a river carrying things away",
    "being held in a large, gentle hand",
    "a staircase that went both up and down",
    "snow falling without a sound",
    "a campfire surrounded by faces",
    "being underwater and able to breathe",
    "looking down at {their} own life from far away",
];

const SMALL_NUMBERS: &[&str] = &["two", "three", "four", "five"];

const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "the weekend",
];

// ---------------------------------------------------------------------------------------------
// Per-patient word lists (chosen once per patient).

pub(super) const RELATIONS: &[&str] = &[
    "father",
    "mother",
    "sister",
    "brother",
    "partner",
    "wife",
    "husband",
    "son",
    "daughter",
    "grandmother",
    "best friend",
    "stepfather",
    "aunt",
];

pub(super) const LOST: &[&str] = &[
    "mother",
    "father",
    "brother",
    "grandmother",
    "grandfather",
    "closest friend",
    "dog",
    "first partner",
    "uncle",
    "sister",
];

pub(super) const PLACES: &[&str] = &[
    "the ocean",
    "a forest path",
    "the lake near {their} childhood home",
    "the mountains",
    "the allotment garden",
    "the river walk",
    "the hills behind the town",
    "a quiet beach",
    "the park near {their} flat",
    "the woods",
];

pub(super) const MUSIC_WORDS: &[&str] = &[
    "the cello piece from the session playlist",
    "piano music",
    "an old choir recording",
    "the guitar",
    "the playlist",
    "the singing bowls track",
    "jazz {their} father used to play",
    "the drums",
    "violin",
    "folk songs",
];

pub(super) const ACTIVITIES: &[&str] = &[
    "walking",
    "gardening",
    "swimming",
    "cooking",
    "playing guitar",
    "running",
    "yoga",
    "drawing",
    "cycling",
    "baking",
    "birdwatching",
    "woodworking",
];

pub(super) const WORK_WORDS: &[&str] = &[
    "the job at the hospital",
    "teaching",
    "the warehouse shifts",
    "the law firm",
    "the café",
    "the software team",
    "nursing",
    "the family business",
    "the building site",
    "the call centre",
    "freelance design work",
    "the research lab",
];

// ---------------------------------------------------------------------------------------------
// Theme lines.

const FAMILY: &[&str] = &[
    "{n} spoke at length about {their} {rel} and the distance that has grown between them.",
    "Memories of {their} {rel} came up repeatedly, with more {feel} than {n} expected.",
    "{n} noticed wanting to call {their} {rel} and did so the next evening.",
    "The relationship with {their} {rel} remains the main source of both {feel} and {feel2}.",
    "{n} described an old argument with {their} {rel} that still replays at night.",
    "{n} saw {their} {rel} as a frightened person rather than only a difficult one.",
    "{n} wondered aloud whether {their} {rel} ever felt the same loneliness.",
    "A short visit from {their} {rel} went better than feared; they talked about ordinary things.",
    "{n} set a limit with {their} {rel} for the first time and tolerated the guilt afterwards.",
    "{n} recalled {their} {rel} teaching {them} to ride a bike and cried quietly.",
    "{n} is trying to stop rehearsing conversations with {their} {rel} before they happen.",
    "Family dinners are easier; {n} stayed at the table instead of leaving early.",
    "{n} felt like the caretaker of the family from a young age and is tired of it.",
    "The {rel} noticed {n} laughing more and said so, which moved {them}.",
];

const WORK: &[&str] = &[
    "Work at {work} has felt heavy; {n} dreads Sunday evenings.",
    "{n} returned to {work} part-time and managed the first week without calling in sick.",
    "{n} described perfectionism at {work} as a way to avoid being criticised.",
    "A conflict with the manager at {work} came up again, with less anger this time.",
    "{n} noticed answering work emails late at night and wants to stop.",
    "{n} wonders whether {work} still fits, or whether the question is the depression talking.",
    "Colleagues at {work} have been supportive; {n} told one of them about the treatment.",
    "{n} took a full lunch break {num} times this week, which felt unusual but good.",
    "{n} described the fear of being found out as not good enough at {work}.",
    "Concentration at {work} is better; reading a long report no longer feels impossible.",
    "{n} asked for a lighter rota for the next month and the request was granted.",
    "{n} saw that overworking at {work} kept painful feelings at arm's length.",
];

const SLEEP: &[&str] = &[
    "Sleep remains broken: waking at 3 or 4 and unable to settle.",
    "{n} slept through the night {num} times this week, the most in months.",
    "{n} has kept a regular bedtime and stopped scrolling in bed.",
    "Early waking is less frequent; {n} now reads for a while and falls back asleep.",
    "Nightmares have eased, though {n} still wakes with a racing heart some nights.",
    "{n} noticed that sleep is worse after late work calls.",
    "{n} slept deeply for nine hours one night this week, the first time in months.",
    "{n} described sleep as 'lighter but more restful' lately.",
    "{n} is cutting back on evening caffeine to help with sleep.",
    "Insomnia flared after a stressful week; {n} used the wind-down routine from preparation.",
];

const GRIEF: &[&str] = &[
    "Grief for {their} {lost} surfaced strongly and {n} allowed it without pushing it away.",
    "{n} said the loss of {their} {lost} had been 'frozen' and now feels like it is moving.",
    "{n} imagined speaking to {their} {lost} and said the things left unsaid.",
    "The anniversary of {their} {lost}'s death is approaching and {n} is anxious about it.",
    "{n} visited the grave of {their} {lost} for the first time in years.",
    "{n} described grief as a locked room that is slowly opening.",
    "Sadness about {their} {lost} feels cleaner now, less mixed with guilt.",
    "{n} found old photographs of {their} {lost} and shared one in session.",
    "{n} noticed that grief and love for {their} {lost} feel like the same thing.",
    "{n} wrote a letter to {their} {lost} as an exercise between sessions.",
];

const MUSIC: &[&str] = &[
    "{n} said {music} seemed to carry {them} through the hardest days.",
    "{n} has started listening to {music} again after years of avoiding it.",
    "{n} wants to pick up {music} again, a love from before the depression.",
    "Music feels like it is 'inside the body' these days; {n} has been making playlists.",
    "{n} described {music} as the moment fear can turn into {feel}.",
    "{n} played {music} on the way home and felt connected rather than alone.",
    "{n} joined a community choir rehearsal and found it less frightening than expected.",
    "Silence between tracks felt important to {n}; {n} asked for fewer lyrics next time.",
];

const NATURE: &[&str] = &[
    "{n} went to {place} and sat for an hour without the phone.",
    "Images of {place} keep returning, vivid and calm.",
    "{n} finds {act} outside the most reliable way to feel steady.",
    "Being in nature at {place} now feels like something {n} is allowed to enjoy.",
    "{n} noticed the trees changing colour on the walk in and stopped to look.",
    "{n} described feeling part of the landscape at {place} instead of separate from it.",
    "{n} plans a weekend at {place} with {their} {rel}.",
    "Time at {place} has become a weekly ritual.",
    "{n} brought a stone from {place} as a reminder to slow down.",
];

const BODY: &[&str] = &[
    "{n} noticed tension in the {body} and learned to breathe into it.",
    "{n} described a sense of warmth spreading through the {body} when calm.",
    "{n} has been {act} {num} times a week and feels more at home in {their} body.",
    "Chronic pain in the {body} has faded into the background at times.",
    "{n} is eating more regularly and appetite has improved.",
    "{n} described the body as 'finally off duty' for a while.",
    "Restlessness in the {body} is still there on bad days, but shorter.",
    "{n} practised the body scan daily and finds it easier to stay with.",
];

const TRAUMA: &[&str] = &[
    "An old memory of the accident came up; {n} stayed with it and felt safe enough.",
    "{n} noticed being startled less by sudden noises this week.",
    "{n} described a younger part that still expects to be hurt.",
    "The conversation touched on early experiences at home; {n} chose how much to share.",
    "{n} felt for the first time that what happened was not {their} fault.",
    "Hypervigilance in crowds is lower; {n} took the bus at rush hour.",
    "{n} worked with the image of a safe place when memories became intense.",
    "{n} said the memory felt 'further away, like a film' rather than happening now.",
    "Flashbacks were less frequent, about {num} in the past fortnight.",
];

const MEANING_THEME: &[&str] = &[
    "{n} described a sense that life could be lived rather than endured.",
    "{n} spoke about wanting to matter to someone, and realising that this is already true.",
    "{n} felt a connection to something larger and was surprised by it.",
    "Questions about purpose came up; {n} wants to volunteer again.",
    "{n} reconnected with the faith of {their} childhood, on {their} own terms.",
    "{n} said there is finally 'room' to think about the future.",
    "{n} noticed small moments of {feel} in ordinary days.",
    "{n} wants to live closer to {their} values and less by obligation.",
];

const SELF_WORTH: &[&str] = &[
    "The inner critic was quieter; {n} could speak about {them}self with some kindness.",
    "{n} caught the thought 'I am a burden' and questioned it.",
    "{n} accepted a compliment without arguing, which felt strange.",
    "Shame came up strongly and {n} was able to name it instead of hiding.",
    "{n} described seeing {them}self as a child and feeling protective.",
    "{n} noticed how often the apologies come and tried to offer fewer.",
    "{n} felt 'good enough' for a moment and wanted to remember it.",
    "Self-blame after a mistake at home lasted hours rather than days.",
];

// ---------------------------------------------------------------------------------------------
// Preparation.

pub(super) const PSYCHOSIS_SCREEN: &[&str] = &[
    "No personal history of psychosis or mania.",
    "Denies any history of psychosis, mania or hypomania; no family history of psychosis.",
    "No history of psychosis. A maternal uncle had schizophrenia; discussed, risk judged acceptable.",
    "No psychotic symptoms ever reported; screened for bipolar disorder, negative.",
    "No history of psychosis; one brief hypomanic episode on an SSRI ruled out bipolar I after review.",
];

pub(super) const BP_SCREEN_NORMAL: &[&str] = &[
    "No hypertension; resting BP today within normal range.",
    "No cardiovascular history; BP normal at screening.",
    "No history of hypertension, aneurysm or stroke.",
];

pub(super) const BP_SCREEN_RAISED: &[&str] = &[
    "Hypertension controlled on amlodipine 5 mg; BP at screening mildly raised, to be rechecked before every session.",
    "Borderline BP at screening; GP aware. Will measure before dosing and delay if above 140/90.",
    "Treated hypertension, well controlled on amlodipine; no aneurysm or stroke history.",
];

pub(super) const PREGNANCY_TESTED: &[&str] = &[
    "Pregnancy test negative today; uses reliable contraception and agrees to test before each session.",
    "Not pregnant (test negative), not breastfeeding; contraception discussed.",
    "Pregnancy excluded by test; no plans for pregnancy during the course.",
];

pub(super) const PREGNANCY_NA: &[&str] = &[
    "Pregnancy: not applicable.",
    "Pregnancy not applicable; no other reproductive concerns.",
];

pub(super) const SUBSTANCE_SCREEN: &[&str] = &[
    "Alcohol: a few drinks a week; no other substances.",
    "Alcohol use disorder in sustained remission for four years; no use since. Relapse risk discussed.",
    "Occasional cannabis in the past, none for a year. No ketamine or other dissociative use.",
    "Denies recreational drug use; alcohol rarely.",
    "Past heavy drinking in their twenties; now within low-risk limits. No prior ketamine use.",
    "Tried ketamine recreationally once many years ago; no pattern of misuse.",
    "Smokes about five cigarettes a day; no alcohol or drug misuse.",
];

/// Medication screening for patients on none of the interacting drugs in [`OTHER_MEDS`].
pub(super) const MEDS_SCREEN_CLEAR: &[&str] = &[
    "No benzodiazepines, MAOIs, stimulants or opioids.",
    "No MAOIs (checked: none in the past 2 weeks), no stimulants, no opioids, no benzodiazepines.",
    "Interaction check: no benzodiazepines, MAOIs, stimulants or opioids. Clonazepam was tapered last year and is stopped.",
    "No MAOIs or stimulants. Takes tramadol occasionally for back pain; asked not to take it on dosing days.",
];

/// Screening lines for the interacting drugs a patient may take, keyed by the start of the
/// medication's entry in [`OTHER_MEDS`].
pub(super) const MEDS_SCREEN_FOR: &[(&str, &str)] = &[
    (
        "lorazepam",
        "Benzodiazepines may blunt the response: lorazepam to be held for 24 h before each session.",
    ),
    (
        "lisdexamfetamine",
        "Stimulant: lisdexamfetamine to be skipped on dosing mornings because of the added BP rise.",
    ),
    (
        "lamotrigine",
        "Lamotrigine may dampen the effect; continue and review the response after session 4.",
    ),
    (
        "amlodipine",
        "Antihypertensive to be taken as usual on dosing mornings.",
    ),
];

pub(super) const ANTIDEPRESSANTS: &[&str] = &[
    "sertraline 100 mg daily",
    "escitalopram 20 mg daily",
    "bupropion XL 300 mg daily",
    "venlafaxine XR 150 mg daily",
    "vortioxetine 10 mg daily",
    "duloxetine 60 mg daily",
    "fluoxetine 40 mg daily",
    "mirtazapine 30 mg at night",
];

pub(super) const OTHER_MEDS: &[&str] = &[
    "lorazepam 0.5 mg as needed",
    "lamotrigine 100 mg daily",
    "lisdexamfetamine 30 mg in the morning",
    "levothyroxine 75 mcg daily",
    "trazodone 50 mg at night",
    "aripiprazole 2 mg daily (augmentation)",
    "propranolol 10 mg as needed",
    "atorvastatin 20 mg daily",
    "melatonin 2 mg at night",
];

pub(super) const PRIOR_TRIALS: &[&str] = &[
    "Previous trials: two SSRIs and an SNRI at adequate dose and duration, with partial response.",
    "Has tried four antidepressants and lithium augmentation over six years.",
    "Two adequate antidepressant trials failed; CBT and later EMDR helped only partly.",
    "Previous trials of sertraline, venlafaxine and mirtazapine; TMS last year with brief benefit.",
    "Three antidepressants and an antipsychotic augmentation, stopped for side effects.",
];

pub(super) const INTENTION_INTRO: &[&str] = &[
    "In {their} own words, {n} wants 'to feel like a person again, not a list of tasks'.",
    "{n} hopes to loosen the grip of the depression enough to do the things that matter.",
    "{n} is cautious but hopeful; wants to approach the sessions with curiosity.",
    "{n} wants the sessions to open a door, then to do the walking through in integration.",
    "{n} named a wish to feel less alone with {their} thoughts.",
    "{n} said: 'I want to stop waiting for my life to start.'",
];

pub(super) const SET_AND_SETTING: &[&str] = &[
    "Quiet treatment room, reclining chair, eye mask and headphones offered; {n} prefers instrumental music.",
    "{n} will bring a blanket and a photograph; lights dimmed, phone switched off.",
    "Discussed arriving early, light breakfast only, and no plans for the rest of the day.",
    "{n} prefers the eye mask on and the music low; agreed signals for wanting to talk.",
    "Playlist reviewed together; {n} asked for {music} near the end.",
    "Set: {n} feels apprehensive but motivated. Setting: same room and therapist each time.",
    "{n} asked that the door stay slightly open; agreed.",
    "Agreed that touch is offered only as a hand on the shoulder, and only after asking first.",
    "{n} will journal for ten minutes the evening before each session.",
];

pub(super) const DIFFICULT_MOMENTS: &[&str] = &[
    "If it gets frightening: breathe out slowly, remember the therapist is present, and let the experience move.",
    "Agreed phrase 'I need to come back' to pause the music and ground together.",
    "'Trust, let go, be open': discussed as a way to approach anything difficult.",
    "If nausea comes, {n} will signal; ondansetron is available by standing order.",
    "{n} will hold a smooth stone as an anchor if feeling lost.",
    "We practised slow exhalations and naming five things in the room.",
    "If memories of the past surface, {n} can choose to open the eyes and orient at any time.",
    "Discussed that difficult experiences are often the most useful, and that {n} is never alone in them.",
    "Plan for a hard evening afterwards: {their} {escort} will be at home; the clinic phone line is open.",
];

pub(super) const CONSENT_FIRST: &[&str] = &[
    "Informed consent discussed: off-label use of ketamine, expected effects (dissociation, altered perception), risks (raised BP, nausea, dizziness, bladder symptoms with frequent use, misuse potential) and alternatives. Questions answered; consent form signed.",
    "Reviewed benefits, risks and alternatives; {n} understands that the effect may be temporary and that boosters may be needed. Written consent obtained.",
    "Consent obtained after discussing dissociation, BP changes, nausea, the 2-hour observation period and no driving until the next day.",
];

pub(super) const CONSENT_ESKETAMINE: &[&str] = &[
    "Esketamine discussed: enrolled in the REMS program; observation for at least 2 hours after each dose; no driving until the next day after a night's sleep. Consent signed.",
    "Explained the REMS requirements, BP checks before and about 40 minutes after dosing, and possible sedation and dissociation. Written consent obtained.",
];

pub(super) const CONSENT_LATER: &[&str] = &[
    "Consent reconfirmed; no new questions.",
    "{n} remains willing to proceed; consent unchanged.",
    "Consent reviewed briefly and reaffirmed.",
];

pub(super) const SINCE_LAST_PREP: &[&str] = &[
    "Since the first visit {n} has read the information sheet and written down questions.",
    "{n} felt more anxious this week, mostly about the unknown.",
    "Mood unchanged since screening; sleep still poor.",
    "{n} talked with {their} {rel} about starting treatment; support offered.",
    "{n} has arranged time off on dosing days and a lift home.",
];

/// A later preparation visit reviews the screening rather than repeating it.
pub(super) const SCREENING_REVIEWED: &[&str] = &[
    "Screening reviewed: no new medical problems, no change in substance use, no new contraindications.",
    "No new contraindications since the assessment; blood pressure history unchanged.",
    "Nothing new since screening: no new diagnoses, medications or substance use reported.",
    "Screening questions repeated; answers unchanged since the assessment.",
];

pub(super) const MEDS_UNCHANGED: &[&str] = &[
    "Unchanged since the assessment.",
    "Reviewed: no changes since the assessment; plan for dosing days as agreed then.",
    "Current list checked with {n}; unchanged.",
];

pub(super) const CONTACT_NOTES: &[&str] = &[
    "Prefers text messages. Emergency contact: {escort}, 555-01{num2}.",
    "Best reached by phone after 5 pm. Emergency contact: {escort}, 555-01{num2}.",
    "Email preferred (address on intake form). Emergency contact: {escort}, 555-01{num2}.",
    "Works shifts: leave a voicemail. Emergency contact: {escort}, 555-01{num2}.",
    "Hard of hearing on the left; text first. Emergency contact: {escort}, 555-01{num2}.",
];

// ---------------------------------------------------------------------------------------------
// Dosing sessions.

pub(super) const BEFORE_DOSING: &[&str] = &[
    "{n} arrived on time, a little nervous, having eaten a light breakfast.",
    "Mood today 'flat but okay'. Slept about six hours.",
    "{n} arrived with {their} {escort}, who will collect {them} afterwards.",
    "Intention for today: to stay with whatever comes up about {their} {rel}.",
    "Intention for today: 'to be kinder to myself'.",
    "{n} reports no alcohol in the past 24 h and held the morning lorazepam as agreed.",
    "Fasted since last night. No new medications.",
    "{n} said the week was difficult and is glad to be here.",
    "Brief check-in about the previous session; no lingering after-effects.",
    "Intention for today: to listen rather than to fix.",
];

pub(super) const ONSET: &[&str] = &[
    "Onset of dissociation: describes body feeling heavy and far away.",
    "Reports colours behind the eye mask; breathing slow.",
    "Speech slowed; says the room feels very large.",
    "Says 'I'm floating'; calm, smiling.",
    "Tingling in the hands and lips, then a sense of drifting.",
    "Describes the music as coming from inside.",
    "Reports losing track of where the body ends.",
];

pub(super) const PEAK: &[&str] = &[
    "Quiet, breathing slow and even; no distress.",
    "Tearful, speaking softly about {their} {rel}.",
    "Laughing gently; says 'it's all so simple'.",
    "Describes {img}.",
    "Emotional release: sobbing for a few minutes, then settled.",
    "Asked for a hand on the shoulder; support given after checking consent.",
    "Murmurs about {their} {lost}; tearful but calm.",
    "Still and quiet, occasional deep sighs.",
    "Says 'I can see it from above now'.",
    "Brief fear ('am I dying?'); reassured, breathed out slowly, settled within minutes.",
];

pub(super) const RETURN: &[&str] = &[
    "Returning to baseline; eye mask off, oriented to time and place.",
    "Grounding: feet on the floor, sips of water, named five things in the room.",
    "Sitting up, talking coherently about the experience.",
    "Reflects: 'I was not alone in there'.",
    "Drank water and ate a biscuit; steady when standing.",
    "Wrote a few lines in {their} journal before leaving.",
];

pub(super) const NAUSEA: &[&str] = &[
    "Nausea; ondansetron 4 mg ODT given per standing order, settled within 20 min.",
    "Vomited once; settled afterwards, no further nausea.",
    "Mild nausea, eased with slow breathing and fresh air.",
    "Dizziness and nausea on standing; sat back down for 15 min, resolved.",
    "Headache after dosing; paracetamol 1 g given.",
];

/// For a first session, which has no earlier one to compare with.
pub(super) const FIRST_SESSION_NARRATIVE: &[&str] = &[
    "A first session: {n} was apprehensive at the start and settled once the music began.",
    "{n} found the first experience stranger and gentler than expected.",
    "The first session was calm overall, with a short period of anxiety at onset.",
    "{n} moved between restful stillness and brief waves of {feel}.",
    "Much of the session was spent in imagery: {img}.",
];

pub(super) const SESSION_NARRATIVE: &[&str] = &[
    "The session was calm overall, with a period of strong emotion around the peak.",
    "{n} moved between restful stillness and brief waves of {feel}.",
    "Much of the session was spent in imagery: {img}.",
    "{n} found the first part disorienting and the second part peaceful.",
    "A quieter session than the last; less imagery, more bodily calm.",
    "{n} described the session as 'the first time I stopped fighting'.",
    "{n} stayed with a difficult feeling about {their} {rel} instead of leaving it.",
    "The experience was less intense than before, which {n} found a relief.",
];

pub(super) const SESSION_PLAN: &[&str] = &[
    "Integration session booked; rest this evening; no driving until tomorrow.",
    "Continue as planned. Journal tonight, integration visit later this week.",
    "Review dose at the next session depending on tolerability and response.",
    "Next session as scheduled; same playlist requested.",
    "Check-in call tomorrow; integration session in a few days.",
    "Repeat PHQ-9 and GAD-7 at the integration visit.",
];

// ---------------------------------------------------------------------------------------------
// Integration.

pub(super) const EXPERIENCE: &[&str] = &[
    "{n} recalled the session as calm, with a strong memory of {img}.",
    "{n} remembered little detail but a clear feeling of {feel}.",
    "The session felt intense at first, then spacious.",
    "{n} described the experience as 'like watching my life from the outside'.",
    "{n} was surprised by how physical the experience was, mostly in the {body}.",
    "There was a moment of fear that turned into {feel} once {n} stopped resisting.",
    "{n} described the day after as quiet and tender, with some tiredness.",
    "{n} said the afterglow lasted about two days.",
    "{n} said nothing dramatic happened, but something shifted.",
];

pub(super) const MEANING: &[&str] = &[
    "{n} connected the experience with a long habit of holding everything together.",
    "{n} understood the {feel} as something that had been waiting to be felt.",
    "{n} is beginning to see the depression as a response to old pain rather than a flaw.",
    "{n} linked the imagery to a wish for rest that rarely gets room.",
    "Making meaning is still early; {n} prefers to let it settle.",
    "{n} sees the experience as permission to slow down.",
    "{n} saw how much energy goes into keeping people at a distance.",
    "{n} realised that being needed and being loved are not the same thing.",
];

pub(super) const INSIGHTS: &[&str] = &[
    "Insight: 'I don't have to earn rest.'",
    "Insight: 'The feeling passes if I let it.'",
    "{n} noticed that the harsh inner voice sounds like someone else's.",
    "Insight: 'I can be sad and still be okay.'",
    "{n} named a need to ask for help earlier.",
    "Insight: small daily actions matter more than big resolutions.",
    "{n} wants to stop postponing joy until everything is fixed.",
    "Insight: anger at {their} {rel} and love for {them} can both be true.",
    "{n} recognised avoidance as the main thing keeping the low mood in place.",
];

pub(super) const INTEGRATION_PLAN: &[&str] = &[
    "Journal three times a week; bring one entry next time.",
    "Practise the breathing exercise daily for five minutes.",
    "{act} at least {num} times before the next session.",
    "Reach out to {their} {rel} this week.",
    "Next dosing session as scheduled; review goals then.",
    "Reduce screen time after 10 pm to protect sleep.",
    "Spend an afternoon at {place} with no agenda.",
    "Share one insight with someone trusted.",
    "Continue weekly integration; repeat measures next month.",
    "Keep a note of moments of {feel} during the week.",
];

/// Check-in lines by how far the goal has come, so the words fit the number (0-10): stalled or
/// little movement (0-3), some (4-6), clear (7-10). Each bank has seven lines with a counted
/// slot (`{num}`, `{days}`) first and last only, so a seed draws the same numbers whichever bank
/// the progress picks, and the rest of the demo stays as it was.
pub(super) const CHECKIN_STALLED: &[&str] = &[
    "Tried it {num} times, fewer than hoped; agreed to make the step smaller.",
    "Harder this week because of low energy, but {n} did not give up on it.",
    "Stalled; agreed to make the step smaller.",
    "Not much movement yet; {n} named what got in the way.",
    "{n} forgot it most days; a phone reminder is the next try.",
    "Hardly started; {n} is unsure it is the right goal and will think it over.",
    "Managed once, on {days}; the rest of the week got away from {them}.",
];

pub(super) const CHECKIN_SOME: &[&str] = &[
    "Some progress; {n} managed it {num} times this week.",
    "Slow going, yet {n} notices the intention more often.",
    "Halfway there; the easier days are becoming more common.",
    "Some progress, with setbacks {n} could name without blaming {them}self.",
    "Uneven week, but {n} kept coming back to it.",
    "Some days yes, some days no; {n} is curious rather than critical about it.",
    "Went well on {days}; the rest of the week was harder.",
];

pub(super) const CHECKIN_CLEAR: &[&str] = &[
    "Clear progress; {n} managed it {num} times this week without a reminder.",
    "{n} feels this goal is becoming a habit.",
    "Clear progress; {n} is proud of it.",
    "Steady; {n} did it most days without needing a reminder.",
    "Going well; others have noticed the change too.",
    "Mostly there; {n} wants to keep it going through the next weeks.",
    "Went well on {days} and on most other days too.",
];

/// The check-in lines that fit a progress of `progress` out of 10.
pub(super) fn checkin_lines(progress: u8) -> &'static [&'static str] {
    match progress {
        0..=3 => CHECKIN_STALLED,
        4..=6 => CHECKIN_SOME,
        _ => CHECKIN_CLEAR,
    }
}

/// Said at a visit of a goal whose progress was not rated there: no verdict, only that it came up.
/// Seven lines, a counted slot first and last only, like the check-in lines.
pub(super) const GOAL_REVIEW_LINES: &[&str] = &[
    "came up {num} times in the visit; not rated today.",
    "touched on briefly; {n} keeps it in mind.",
    "not rated today; {n} wants to come back to it.",
    "discussed at the end of the visit.",
    "left for the next visit.",
    "mentioned in passing; no change reported.",
    "{n} plans to look at it again on {days}.",
];

pub(super) const SAFETY: &[&str] = &[
    "PHQ-9 item 9 endorsed ('several days'): passive thoughts of being better off dead, no plan or intent, no history of attempts. Safety plan reviewed and updated; crisis numbers given; {their} {rel} aware.",
    "PHQ-9 item 9 scored above 0. Explored: fleeting thoughts during the worst evenings, no intent, no plan, strong reasons for living. Safety plan in place; follow-up call tomorrow.",
    "Item 9 positive on PHQ-9: passive ideation, denies intent or plan. Risk judged low; safety plan revisited, means restriction discussed, next contact within 48 h.",
];

// ---------------------------------------------------------------------------------------------
// Psychotherapy (private process) notes.

pub(super) const PROCESS: &[&str] = &[
    "Much of the hour circled around control: who has it, and what happens when {n} lets go.",
    "{n} arrived guarded and warmed up slowly; the turning point came when talking about {their} {rel}.",
    "Noticed a pattern of {n} changing the subject whenever {feel} comes close.",
    "Worked with the part of {n} that keeps everyone at a distance; it seemed to soften.",
    "Long silences today, which felt productive rather than stuck.",
    "{n} tested whether I would be disappointed; named it together.",
    "Explored the link between recent dreams and early attachment experiences.",
    "{n} brought a dream about a house with many rooms; we stayed with the image.",
    "Rupture and repair: {n} felt I had rushed last week; we talked it through.",
];

pub(super) const THERAPIST_REFLECTIONS: &[&str] = &[
    "I noticed feeling protective and want to keep an eye on rescuing.",
    "Countertransference: some impatience today; likely mirrors how {n} is treated at home.",
    "The alliance feels stronger; {n} can disagree with me now.",
    "Hypothesis: the depression keeps the grief for {their} {lost} at bay.",
    "Consider supervision on the pace of trauma work.",
    "I felt moved by the letter {n} read aloud.",
    "Working formulation: high standards learned early as the price of belonging.",
];

// ---------------------------------------------------------------------------------------------
// Addenda.

pub(super) const ADDENDA_SESSION: &[&str] = &[
    "Dose clarification: the dose given was {dose}, as charted in the session record; the figure typed in the summary was an error.",
    "Lot number confirmed against the pharmacy log: {lot}.",
    "Clarification: the 40-minute BP was taken on the left arm, seated.",
    "Later remark: {n} phoned the next day, tired but well, no after-effects.",
    "Clarification: {their} {escort} phoned that evening to say {n} was home and resting.",
];

pub(super) const ADDENDA_ESKETAMINE: &[&str] = &[
    "REMS patient monitoring form submitted for this session.",
    "Dose clarification: {dose} ({devices} devices), 5 minutes apart, as charted.",
];

pub(super) const ADDENDA_OTHER: &[&str] = &[
    "Later remark: {n} emailed to say the week had gone better than expected.",
    "Correction: this visit was by video, not in person.",
    "Spoke with the prescriber; medication plan confirmed as written.",
    "Later remark: {their} {rel} called with consent to share that {n} seems brighter.",
    "Clarification: the safety plan copy was given to {n} at the end of the visit.",
];

pub(super) const ADDENDA_PREP: &[&str] = &[
    "Addendum: signed consent form scanned into the paper chart.",
    "Addendum: ECG from the GP received, normal sinus rhythm.",
    "Addendum: prescriber confirmed the benzodiazepine hold plan.",
    "Clarification: the emergency contact, {their} {escort}, confirmed the number on file.",
];

/// Intentions from preparation, each of which can become an integration goal, with check-in
/// lines specific to it. `domain` uses the names of `LifeDomain`.
#[derive(Debug)]
pub(super) struct Intention {
    pub title: &'static str,
    pub domain: &'static str,
    pub checkins: &'static [&'static str],
}

pub(super) const INTENTIONS: &[Intention] = &[
    Intention {
        title: "Call my sister once a week",
        domain: "relationships",
        checkins: &[
            "Called on Sunday; short but warm.",
            "Missed this week, sent a message instead.",
            "Long call, talked about our father.",
            "Sister called first for once.",
        ],
    },
    Intention {
        title: "Have one honest conversation with my father",
        domain: "relationships",
        checkins: &[
            "Thought about it, not ready yet.",
            "Wrote down what I want to say.",
            "Started the conversation; it went better than feared.",
            "Father listened. Surprised us both.",
        ],
    },
    Intention {
        title: "Eat dinner with the family without phones",
        domain: "relationships",
        checkins: &[
            "Three dinners this week.",
            "Kids complained, then joined in.",
            "Slipped back into phones at the table.",
            "Now most evenings.",
        ],
    },
    Intention {
        title: "Return to work part-time",
        domain: "work",
        checkins: &[
            "Spoke with occupational health.",
            "Two half days done.",
            "Tired but managing.",
            "Back to three days a week.",
        ],
    },
    Intention {
        title: "Stop answering work email after 7 pm",
        domain: "work",
        checkins: &[
            "Managed four evenings.",
            "Broke it twice for a deadline.",
            "Turned off notifications; much easier.",
            "Manager did not mind at all.",
        ],
    },
    Intention {
        title: "Walk 20 minutes most mornings",
        domain: "health",
        checkins: &[
            "Walked three mornings.",
            "Rain all week, walked once.",
            "Walking most days now.",
            "Added a longer walk at the weekend.",
        ],
    },
    Intention {
        title: "Keep a regular sleep schedule",
        domain: "health",
        checkins: &[
            "In bed by 11 most nights.",
            "Late nights again at the weekend.",
            "Waking at the same time every day.",
            "Sleep diary shows six good nights.",
        ],
    },
    Intention {
        title: "Cut back alcohol to weekends only",
        domain: "health",
        checkins: &[
            "No drinks Monday to Thursday.",
            "One slip after a hard day.",
            "Weekend only for three weeks.",
            "Not missing it much.",
        ],
    },
    Intention {
        title: "Play music again",
        domain: "meaning",
        checkins: &[
            "Took the guitar out of its case.",
            "Played for ten minutes.",
            "Learning a new song.",
            "Played with a friend.",
        ],
    },
    Intention {
        title: "Spend time in nature every week",
        domain: "meaning",
        checkins: &[
            "An afternoon by the river.",
            "Too busy this week.",
            "Weekend hike.",
            "Sat in the park at lunch.",
        ],
    },
    Intention {
        title: "Let myself grieve instead of staying busy",
        domain: "meaning",
        checkins: &[
            "Looked at old photos and cried.",
            "Kept busy again; noticed it.",
            "Visited the grave.",
            "Talked about the loss with a friend.",
        ],
    },
    Intention {
        title: "Practise ten minutes of breathing every day",
        domain: "self-care",
        checkins: &[
            "Five days out of seven.",
            "Forgot most days.",
            "Using it before meetings.",
            "Daily habit now.",
        ],
    },
    Intention {
        title: "Journal after difficult days",
        domain: "self-care",
        checkins: &[
            "Wrote twice.",
            "Journal helped after the argument.",
            "Not this week.",
            "Rereading older entries.",
        ],
    },
    Intention {
        title: "Ask for help before things pile up",
        domain: "self-care",
        checkins: &[
            "Asked a colleague for cover.",
            "Waited too long again.",
            "Asked my partner to take over the bills this month.",
            "Easier than expected.",
        ],
    },
    Intention {
        title: "Finish the painting I started last year",
        domain: "creativity",
        checkins: &[
            "Set up the easel again.",
            "One evening of painting.",
            "Half finished.",
            "Finished and hung it.",
        ],
    },
    Intention {
        title: "Join a choir or group activity",
        domain: "community",
        checkins: &[
            "Found a local choir.",
            "Went to one rehearsal.",
            "Missed a week, went back.",
            "Now a regular.",
        ],
    },
];

// ---------------------------------------------------------------------------------------------
// Names: first names tagged with a usual pronoun set (`'f'`, `'m'`, or `'n'` for names used by
// anyone), and surnames from many origins. Combined at random, so no real person is described.

pub(super) const FIRST_NAMES: &[(&str, char)] = &[
    ("Amara", 'f'),
    ("Bjorn", 'm'),
    ("Camille", 'f'),
    ("Dario", 'm'),
    ("Eilidh", 'f'),
    ("Farid", 'm'),
    ("Greta", 'f'),
    ("Hiroshi", 'm'),
    ("Ines", 'f'),
    ("Jonah", 'm'),
    ("Keziah", 'f'),
    ("Lorcan", 'm'),
    ("Maite", 'f'),
    ("Nikhil", 'm'),
    ("Odile", 'f'),
    ("Piotr", 'm'),
    ("Quilla", 'f'),
    ("Rafael", 'm'),
    ("Saoirse", 'f'),
    ("Tobias", 'm'),
    ("Ulla", 'f'),
    ("Vikram", 'm'),
    ("Wren", 'n'),
    ("Xiomara", 'f'),
    ("Yusuf", 'm'),
    ("Zofia", 'f'),
    ("Alex", 'n'),
    ("Sam", 'n'),
    ("Robin", 'n'),
    ("Jordan", 'n'),
    ("Noor", 'f'),
    ("Emeka", 'm'),
    ("Leila", 'f'),
    ("Mateo", 'm'),
    ("Signe", 'f'),
    ("Kwame", 'm'),
    ("Anouk", 'f'),
    ("Casimir", 'm'),
    ("Dagny", 'f'),
    ("Ezra", 'n'),
    ("Freya", 'f'),
    ("Gideon", 'm'),
    ("Hana", 'f'),
    ("Idris", 'm'),
    ("Juno", 'n'),
    ("Kalani", 'n'),
    ("Lucia", 'f'),
    ("Marek", 'm'),
    ("Nadia", 'f'),
    ("Oskar", 'm'),
    ("Priya", 'f'),
    ("Rowan", 'n'),
    ("Sunniva", 'f'),
    ("Teodor", 'm'),
    ("Valentina", 'f'),
    ("Wendell", 'm'),
    ("Yara", 'f'),
    ("Zeno", 'm'),
    ("Tamsin", 'f'),
    ("Ilias", 'm'),
    ("Marlowe", 'n'),
    ("Oluwaseun", 'n'),
];

pub(super) const LAST_NAMES: &[&str] = &[
    "Abernathy",
    "Bergstrom",
    "Castellanos",
    "Dalgleish",
    "Eriksen",
    "Fairweather",
    "Gallagher",
    "Haddad",
    "Ilunga",
    "Jankowski",
    "Kowalczyk",
    "Lindqvist",
    "Mbeki-Hart",
    "Nakamura",
    "Okonkwo",
    "Pellegrini",
    "Quintero",
    "Rasmussen",
    "Szabo",
    "Thistlewood",
    "Umarov",
    "Varga",
    "Whitcombe",
    "Xu",
    "Yilmaz",
    "Zielinski",
    "Achterberg",
    "Brennan",
    "Chaudhry",
    "Delacroix-Moss",
    "Esposito",
    "Fenwick",
    "Gunawardena",
    "Holloway",
    "Ibarra",
    "Juszczak",
    "Kavanagh",
    "Lachance",
    "Moreau",
    "Novak",
    "Ogunleye",
    "Petrakis",
    "Rahimi",
    "Sørensen",
    "Tanaka-Reid",
    "Underhill",
    "Vasquez",
    "Whitlock",
    "Yamada",
    "Zanetti",
    "Ashdown",
    "Barrowclough",
    "Cienfuegos",
    "Dunmore",
    "Everly",
    "Fitzroy",
    "Grünwald",
    "Hollis",
    "Iwu",
    "Kettering",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn voice() -> Voice {
        Voice {
            first: "Wren",
            their: "their",
            them: "them",
            relations: vec!["sister", "father"],
            escort: "sister",
            age: 40,
            lost: "dog",
            place: "the woods",
            music: "piano music",
            activity: "walking",
            work: "teaching",
            themes: vec![(Theme::Family, 3), (Theme::Music, 1)],
        }
    }

    #[test]
    fn a_sentence_that_starts_with_a_slot_is_capitalised() {
        let mut rng = SeededRng::new(1);
        let v = voice();
        let mut w = Writer {
            rng: &mut rng,
            voice: &v,
        };
        let mut out = String::from("Plan:");
        w.sentence(&mut out, &["{act} twice a week."]);
        assert_eq!(out, "Plan: Walking twice a week.");
    }

    #[test]
    fn slots_are_filled_and_unknown_slots_survive() {
        let mut rng = SeededRng::new(1);
        let v = voice();
        let mut w = Writer {
            rng: &mut rng,
            voice: &v,
        };
        let mut out = String::new();
        w.fill(&mut out, "{n} and {their} {rel0} at {place}; {nope} {");
        assert_eq!(out, "Wren and their sister at the woods; {nope} {");
    }

    /// Every slot used anywhere in the banks is one the writer knows, except the few that the
    /// course code fills before handing the text over (`{dose}`, `{lot}`, `{devices}`, `{num2}`).
    #[test]
    fn every_slot_in_every_bank_is_known() {
        let banks: &[&[&str]] = &[
            FAMILY,
            WORK,
            SLEEP,
            GRIEF,
            MUSIC,
            NATURE,
            BODY,
            TRAUMA,
            MEANING_THEME,
            SELF_WORTH,
            IMAGERY,
            PLACES,
            MUSIC_WORDS,
            PSYCHOSIS_SCREEN,
            BP_SCREEN_NORMAL,
            BP_SCREEN_RAISED,
            PREGNANCY_TESTED,
            PREGNANCY_NA,
            SUBSTANCE_SCREEN,
            MEDS_SCREEN_CLEAR,
            FIRST_SESSION_NARRATIVE,
            PRIOR_TRIALS,
            INTENTION_INTRO,
            SET_AND_SETTING,
            DIFFICULT_MOMENTS,
            CONSENT_FIRST,
            CONSENT_ESKETAMINE,
            CONSENT_LATER,
            SINCE_LAST_PREP,
            SCREENING_REVIEWED,
            MEDS_UNCHANGED,
            BEFORE_DOSING,
            ONSET,
            PEAK,
            RETURN,
            NAUSEA,
            SESSION_NARRATIVE,
            SESSION_PLAN,
            EXPERIENCE,
            MEANING,
            INSIGHTS,
            INTEGRATION_PLAN,
            CHECKIN_STALLED,
            CHECKIN_SOME,
            CHECKIN_CLEAR,
            GOAL_REVIEW_LINES,
            SAFETY,
            PROCESS,
            THERAPIST_REFLECTIONS,
            ADDENDA_OTHER,
            ADDENDA_PREP,
        ];
        let v = voice();
        let mut rng = SeededRng::new(3);
        for bank in banks {
            for t in *bank {
                let mut w = Writer {
                    rng: &mut rng,
                    voice: &v,
                };
                let mut out = String::new();
                w.fill(&mut out, t);
                assert!(!out.contains('{'), "unfilled slot in {t:?} -> {out:?}");
            }
        }
    }

    #[test]
    fn the_banks_are_large_enough_to_read_as_varied() {
        let count: usize = [
            FAMILY.len(),
            WORK.len(),
            SLEEP.len(),
            GRIEF.len(),
            MUSIC.len(),
            NATURE.len(),
            BODY.len(),
            TRAUMA.len(),
            MEANING_THEME.len(),
            SELF_WORTH.len(),
            EXPERIENCE.len(),
            MEANING.len(),
            INSIGHTS.len(),
            INTEGRATION_PLAN.len(),
            PROCESS.len(),
            THERAPIST_REFLECTIONS.len(),
            ONSET.len(),
            PEAK.len(),
            RETURN.len(),
            BEFORE_DOSING.len(),
            SESSION_NARRATIVE.len(),
            SET_AND_SETTING.len(),
            DIFFICULT_MOMENTS.len(),
        ]
        .iter()
        .sum();
        assert!(count >= 200, "only {count} core sentences");
    }
}
