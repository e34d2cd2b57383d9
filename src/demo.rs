//! A realistic demo directory: Greater Manchester's ten boroughs, their postcode
//! districts, real GP practice and PCN codes, and services written the way directories
//! describe them, with a mix of statuses, capacity and coverage.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

struct Borough {
    name: &'static str,
    la: &'static str,
    sub_icb: &'static str,
    districts: &'static [&'static str],
    /// (ODS code, practice name, postcode)
    practices: &'static [(&'static str, &'static str, &'static str)],
    pcn: &'static str,
    town_centre: &'static str,
    /// Roughly where the borough's hub is (latitude, longitude).
    hub: (f64, f64),
}

const BOROUGHS: &[Borough] = &[
    Borough {
        name: "Bolton",
        la: "E08000001",
        sub_icb: "00T",
        districts: &["BL1", "BL2", "BL3", "BL4", "BL5", "BL6"],
        practices: &[
            ("P82001", "The Dunstan Partnership", "BL2 6NT"),
            ("P82002", "Pikes Lane 1", "BL3 5HP"),
            ("P82003", "Kildonan House", "BL6 5NW"),
            ("P82004", "Swan Lane Medical Centre", "BL3 6TL"),
        ],
        pcn: "U79938",
        town_centre: "BL1 1RU",
        hub: (53.5780, -2.4290),
    },
    Borough {
        name: "Bury",
        la: "E08000002",
        sub_icb: "00V",
        districts: &["BL9", "BL8", "BL0", "M25", "M26", "M45"],
        practices: &[
            ("P83001", "Fairfax Group Practice", "M25 1BT"),
            ("P83004", "The Uplands Medical Practice", "M45 8GH"),
            ("P83005", "Townside Surgery", "BL9 0SN"),
            ("P83006", "Ramsbottom Medical Practice", "BL0 9DD"),
        ],
        pcn: "U73478",
        town_centre: "BL9 0EJ",
        hub: (53.5933, -2.2966),
    },
    Borough {
        name: "Manchester",
        la: "E08000003",
        sub_icb: "14L",
        districts: &[
            "M1", "M4", "M8", "M9", "M11", "M12", "M13", "M14", "M15", "M16", "M19", "M20", "M21",
            "M22", "M23", "M40",
        ],
        practices: &[
            ("P84004", "Five Oaks Family Practice", "M11 3BB"),
            ("P84005", "Vallance Medical", "M13 9UJ"),
            ("P84009", "Ailsa Craig Medical Centre", "M13 0YL"),
            ("P84010", "The Borchardt Medical Centre", "M20 1EB"),
        ],
        pcn: "U49529",
        town_centre: "M1 1AD",
        hub: (53.4808, -2.2426),
    },
    Borough {
        name: "Oldham",
        la: "E08000004",
        sub_icb: "00Y",
        districts: &["OL1", "OL4", "OL8", "OL9"],
        practices: &[
            ("P85002", "St Mary's Medical Centre", "OL1 3UL"),
            ("P85003", "The Chowdhury Practice", "OL1 1NL"),
            ("P85004", "Chadderton Medical Practice", "OL9 0LH"),
            ("P85005", "Leesbrook Surgery", "OL4 3DG"),
        ],
        pcn: "U55161",
        town_centre: "OL1 1NL",
        hub: (53.5409, -2.1114),
    },
    Borough {
        name: "Rochdale",
        la: "E08000005",
        sub_icb: "01D",
        districts: &["OL11", "OL12", "OL16", "M24"],
        practices: &[
            ("P86001", "Milnrow Village Practice", "OL16 4JF"),
            ("P86002", "Dr GWD Bhima", "OL11 1DN"),
            ("P86003", "Edenfield Road Surgery", "OL11 5AQ"),
            ("P86004", "Peterloo Medical Centre", "M24 4DZ"),
        ],
        pcn: "U55161",
        town_centre: "OL16 1AB",
        hub: (53.6097, -2.1561),
    },
    Borough {
        name: "Salford",
        la: "E08000006",
        sub_icb: "01G",
        districts: &["M5", "M6", "M7", "M27", "M28", "M30", "M44"],
        practices: &[
            ("P87002", "The Poplars Medical Practice", "M27 0NA"),
            ("P87004", "Salford Medical Practice", "M6 5PP"),
            ("P87008", "Walkden Medical Centre", "M28 3AT"),
            ("P87015", "Pendleton Medical Centre", "M6 5FX"),
        ],
        pcn: "U57786",
        town_centre: "M6 5FX",
        hub: (53.4875, -2.2901),
    },
    Borough {
        name: "Stockport",
        la: "E08000007",
        sub_icb: "01W",
        districts: &["SK1", "SK2", "SK3", "SK4", "SK5", "SK6", "SK7"],
        practices: &[
            ("P88002", "Marple Bridge Surgery", "SK6 5AA"),
            ("P88003", "Manor Medical Practice", "SK2 5AR"),
            ("P88005", "Family Surgery", "SK5 6RN"),
            ("P88006", "Marple Cottage Surgery", "SK6 6BW"),
        ],
        pcn: "U64597",
        town_centre: "SK1 1AA",
        hub: (53.4106, -2.1575),
    },
    Borough {
        name: "Tameside",
        la: "E08000008",
        sub_icb: "01Y",
        districts: &["OL6", "OL7", "SK14", "SK15", "SK16", "M34"],
        practices: &[
            ("P89002", "The Brooke Surgery", "SK14 1AT"),
            ("P89003", "Albion Medical Practice", "OL6 6HF"),
            ("P89004", "Awburn House Medical Practice", "SK14 6LA"),
            ("P89005", "Lockside Medical Centre", "SK15 2PT"),
        ],
        pcn: "U02275",
        town_centre: "OL6 6HF",
        hub: (53.4897, -2.0952),
    },
    Borough {
        name: "Trafford",
        la: "E08000009",
        sub_icb: "02A",
        districts: &["M32", "M33", "M41", "WA14", "WA15"],
        practices: &[
            ("P91003", "Park Medical Practice", "WA15 7XR"),
            ("P91004", "Altrincham Medical Practice", "WA14 2DD"),
            ("P91006", "Urmston Group Practice", "M41 8AA"),
            ("P91007", "Timperley Health Centre", "WA15 6PH"),
        ],
        pcn: "U95344",
        town_centre: "M33 7ZZ",
        hub: (53.4246, -2.3220),
    },
    Borough {
        name: "Wigan",
        la: "E08000010",
        sub_icb: "02H",
        districts: &["WN1", "WN2", "WN3", "WN4", "WN5", "WN6"],
        practices: &[
            ("P92001", "Medicentre", "WN4 9AZ"),
            ("P92002", "Braithwaite Road Surgery", "WA3 2HY"),
            ("P92003", "The Dicconson Group Practice", "WN6 7LB"),
            ("P92004", "Dr Tun & Partners", "WN2 3HQ"),
        ],
        pcn: "U69052",
        town_centre: "WN1 1XL",
        hub: (53.5450, -2.6325),
    },
];

/// Who a template's services cover.
#[derive(Clone, Copy)]
enum Reach {
    /// Residents of the borough (local authority).
    Borough,
    /// Residents of a few named districts.
    Districts,
    /// Patients of the borough's GP practices (sub-ICB).
    Registered,
    /// Patients of one Primary Care Network.
    Pcn,
    /// Patients of two named practices.
    Practices,
    /// Anyone in the UK.
    National,
    /// The borough, except its first district.
    BoroughExceptOne,
}

struct Template {
    name: &'static str,
    org: &'static str,
    categories: &'static [&'static str],
    description: &'static str,
    keywords: &'static [&'static str],
    modes: &'static [&'static str],
    route: &'static str,
    ages: (Option<u8>, Option<u8>),
    gender: &'static str,
    free: bool,
    reach: Reach,
}

const T: &[Template] = &[
    Template {
        name: "{b} Debt Advice Service",
        org: "Citizens Advice {b}",
        categories: &["debt", "money"],
        description: "Free, confidential and impartial debt advice. Our advisers help you list what you owe, deal with creditors and bailiffs, set up affordable payment plans, and apply for breathing space, debt relief orders or bankruptcy where that is right for you. Appointments by phone or face to face at our {b} office.",
        keywords: &[
            "bailiffs",
            "arrears",
            "council tax",
            "creditors",
            "debt relief order",
        ],
        modes: &["in_person", "telephone"],
        route: "both",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Money Matters drop-in",
        org: "{b} Community Voluntary Service",
        categories: &["money", "debt", "benefits"],
        description: "A weekly drop-in at the community hub for anyone worried about money. Volunteers help with budgeting, energy bills, cost of living grants and checking you get every benefit you are entitled to. No appointment needed; bring any letters you have.",
        keywords: &["budgeting", "energy bills", "cost of living", "grants"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Districts,
    },
    Template {
        name: "Welfare Rights Team",
        org: "{b} Council",
        categories: &["benefits"],
        description: "Specialist welfare rights advice on Universal Credit, PIP, ESA and Attendance Allowance, including help filling in forms, asking for a mandatory reconsideration and representing you at appeal tribunals.",
        keywords: &["universal credit", "PIP", "appeals", "tribunal"],
        modes: &["telephone", "in_person"],
        route: "both",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "{b} Food Bank",
        org: "{b} Food Network",
        categories: &["food"],
        description: "Emergency food parcels for people in crisis, with three days of nutritionally balanced food. You need a food bank voucher from a referral agency such as Citizens Advice, your GP surgery or a social worker. We can also signpost you to help with the causes of crisis.",
        keywords: &["food parcel", "voucher", "emergency food"],
        modes: &["in_person"],
        route: "professional_referral",
        ages: (None, None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Community Pantry",
        org: "{b} Food Network",
        categories: &["food", "money"],
        description: "A membership food pantry: for a small weekly fee members choose groceries worth much more, including fresh fruit and vegetables. Friendly volunteers, a cuppa and a chat, and links to money advice.",
        keywords: &["pantry", "groceries", "low cost food"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: false,
        reach: Reach::Districts,
    },
    Template {
        name: "Telephone Befriending",
        org: "Age UK {b}",
        categories: &["befriending", "older_people"],
        description: "A friendly volunteer calls you every week for a chat. For older people who feel lonely or isolated, live alone, or would simply like someone to talk to. We match you with a volunteer who shares your interests.",
        keywords: &[
            "loneliness",
            "social isolation",
            "companionship",
            "friendship",
        ],
        modes: &["telephone"],
        route: "both",
        ages: (Some(60), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Chatty Café and Social Groups",
        org: "{b} Community Voluntary Service",
        categories: &["befriending", "community"],
        description: "Weekly social groups across the borough where you can meet new people over a brew: coffee mornings, lunch clubs, quiz nights and a walking group. Ideal if you have moved to the area, lost touch with friends or feel on your own.",
        keywords: &[
            "social group",
            "coffee morning",
            "lunch club",
            "meet people",
        ],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Bereavement Support Service",
        org: "{b} Bereavement Care",
        categories: &["bereavement"],
        description: "One-to-one bereavement counselling and support groups for adults grieving the death of someone close, whether recent or some time ago. Trained volunteers offer six to eight sessions and a monthly drop-in group.",
        keywords: &["grief", "counselling", "loss", "death"],
        modes: &["in_person", "telephone", "online"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Registered,
    },
    Template {
        name: "Suicide Bereavement Support",
        org: "Greater Manchester Bereavement Service",
        categories: &["bereavement", "peer_support"],
        description: "Practical and emotional support for anyone bereaved or affected by suicide, including help with inquests, peer support groups and a dedicated support worker.",
        keywords: &["suicide loss", "inquest", "grief"],
        modes: &["telephone", "in_person"],
        route: "both",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Registered,
    },
    Template {
        name: "Carers Centre",
        org: "{b} Carers Centre",
        categories: &["carers"],
        description: "Information, advice and breaks for unpaid carers looking after a family member or friend. Carers assessments, emergency carer cards, support groups and one-to-one support from a carer support worker.",
        keywords: &["unpaid carer", "respite", "carers assessment"],
        modes: &["in_person", "telephone"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Working Well Employment Support",
        org: "{b} Works",
        categories: &["employment"],
        description: "One-to-one employment support for people out of work or worried about losing their job, including those with health conditions. Help with CVs, applications, interview practice, confidence and in-work support once you start.",
        keywords: &["job search", "CV", "interview", "redundancy", "unemployed"],
        modes: &["in_person", "telephone", "online"],
        route: "both",
        ages: (Some(18), Some(66)),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Housing Options and Homelessness Prevention",
        org: "{b} Council",
        categories: &["housing", "homelessness"],
        description: "Advice if you are homeless or at risk of losing your home: eviction notices, rent arrears, landlord disputes, and finding somewhere to live. We can help prevent homelessness if you contact us early.",
        keywords: &["eviction", "landlord", "rent arrears", "section 21"],
        modes: &["in_person", "telephone"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Tenancy Sustainment Service",
        org: "{b} Housing Trust",
        categories: &["housing"],
        description: "Support workers help tenants keep their home: sorting out repairs, damp and mould, rent arrears, neighbour problems and setting up a home after a move.",
        keywords: &["tenancy", "repairs", "damp", "mould"],
        modes: &["home_visit", "telephone"],
        route: "professional_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Districts,
    },
    Template {
        name: "Domestic Abuse Support",
        org: "{b} Women's Aid",
        categories: &["domestic_abuse", "women"],
        description: "Confidential support for anyone experiencing domestic abuse, including coercive control, from independent domestic violence advisers. Safety planning, refuge referrals, help with court orders and a weekly recovery programme.",
        keywords: &["domestic violence", "coercive control", "IDVA", "refuge"],
        modes: &["telephone", "in_person"],
        route: "both",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Sexual Violence Support",
        org: "Greater Manchester Survivors",
        categories: &["sexual_violence"],
        description: "Specialist counselling and independent sexual violence advisers for people affected by rape, sexual assault or childhood sexual abuse, whenever it happened.",
        keywords: &["rape", "sexual assault", "ISVA", "abuse"],
        modes: &["telephone", "in_person", "online"],
        route: "self_referral",
        ages: (Some(13), None),
        gender: "any",
        free: true,
        reach: Reach::National,
    },
    Template {
        name: "Drug and Alcohol Recovery Service",
        org: "{b} Recovery Partnership",
        categories: &["drugs_alcohol"],
        description: "Free support to cut down or stop drinking or using drugs: key workers, detox, prescribing, recovery groups and support for families. Self-refer by phone or drop in.",
        keywords: &["alcohol", "drinking", "drugs", "addiction", "recovery"],
        modes: &["in_person", "telephone"],
        route: "both",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Gambling Harms Support",
        org: "North West Gambling Support",
        categories: &["gambling"],
        description: "Free counselling for people harmed by gambling and for affected family members, with help to block gambling sites and manage money.",
        keywords: &["betting", "gambling addiction", "problem gambling"],
        modes: &["telephone", "online"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::National,
    },
    Template {
        name: "Active Lives Exercise Referral",
        org: "{b} Leisure Trust",
        categories: &["physical_activity", "long_term_conditions"],
        description: "A twelve-week supported exercise programme at local leisure centres for adults with long-term conditions, low mood or who are inactive. Gym, swimming, walking groups and chair-based classes with a qualified instructor.",
        keywords: &["exercise", "gym", "swimming", "fitness"],
        modes: &["in_person"],
        route: "professional_referral",
        ages: (Some(16), None),
        gender: "any",
        free: false,
        reach: Reach::Pcn,
    },
    Template {
        name: "Health Walks",
        org: "{b} Community Voluntary Service",
        categories: &["physical_activity", "befriending"],
        description: "Free, friendly short walks led by trained volunteers every weekday from parks and community centres. A gentle way to get active, get outdoors and meet people.",
        keywords: &["walking group", "walks", "outdoors"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (None, None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Parenting Support Programme",
        org: "{b} Family Hubs",
        categories: &["parenting"],
        description: "Courses and one-to-one support for parents and carers of children of all ages: managing behaviour, sleep and routines, teenagers, and looking after yourself as a parent.",
        keywords: &["parents", "family", "children", "behaviour"],
        modes: &["in_person", "online"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Young People's Wellbeing Service",
        org: "Greater Manchester Youth Wellbeing Collective",
        categories: &["young_people", "mental_wellbeing"],
        description: "Support for young people aged 11 to 25 with stress, anxiety, low mood and life's pressures: one-to-one sessions, groups and creative projects.",
        keywords: &["young people", "teenagers", "students"],
        modes: &["in_person", "online"],
        route: "self_referral",
        ages: (Some(11), Some(25)),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "LGBTQ+ Peer Support Group",
        org: "Pride Network North West",
        categories: &["lgbtq", "peer_support"],
        description: "Friendly peer support groups and one-to-one support for lesbian, gay, bisexual, trans and queer adults, including people who are coming out or questioning.",
        keywords: &["gay", "lesbian", "trans", "bisexual", "coming out"],
        modes: &["in_person", "online"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::National,
    },
    Template {
        name: "Refugee and Asylum Seeker Support",
        org: "{b} Refugee Support Network",
        categories: &["refugees", "legal"],
        description: "Advice and practical help for refugees and people seeking asylum: asylum support, immigration advice, clothing, English classes and social activities.",
        keywords: &["asylum", "immigration", "refugee", "migrants"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (None, None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "ESOL English Classes",
        org: "{b} Adult Learning",
        categories: &["esol", "education"],
        description: "English classes for speakers of other languages at every level, from beginners to exam preparation, with childcare at some venues.",
        keywords: &["learn English", "language classes", "ESOL"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Get Online Digital Skills",
        org: "{b} Libraries",
        categories: &["digital_skills"],
        description: "Help to get online: using a smartphone or tablet, email, video calls, online forms and staying safe online. One-to-one sessions in libraries and free data SIM cards and devices for people who need them.",
        keywords: &["computer", "internet", "smartphone", "tablet"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Arts for Wellbeing",
        org: "{b} Arts Collective",
        categories: &["arts", "mental_wellbeing"],
        description: "Creative workshops for adults: painting, crafts, creative writing, singing and music, in a relaxed group. No experience needed and all materials provided.",
        keywords: &["art", "crafts", "singing", "creative"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Districts,
    },
    Template {
        name: "Volunteer Centre",
        org: "{b} Community Voluntary Service",
        categories: &["volunteering"],
        description: "Find a volunteering role that suits you, with support for people who have not volunteered before or are building confidence after ill health.",
        keywords: &["volunteer", "volunteering opportunities"],
        modes: &["in_person", "online"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Men's Shed",
        org: "{b} Men's Sheds",
        categories: &["men", "befriending"],
        description: "A community workshop where men meet to make, mend and chat shoulder to shoulder. Woodwork, repairs and a brew; a good place for men who are retired, out of work or feeling isolated.",
        keywords: &["mens shed", "woodwork", "men"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "male",
        free: true,
        reach: Reach::Districts,
    },
    Template {
        name: "Women's Wellbeing Group",
        org: "{b} Women's Centre",
        categories: &["women", "peer_support"],
        description: "A weekly women-only group offering friendship, confidence building, courses and a safe space to talk, with a crèche.",
        keywords: &["women only", "confidence", "friendship"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "female",
        free: true,
        reach: Reach::BoroughExceptOne,
    },
    Template {
        name: "Living Well with Pain",
        org: "{b} Health and Wellbeing Partnership",
        categories: &["long_term_conditions", "peer_support"],
        description: "A six-week course and peer support group for people living with persistent pain, fibromyalgia, arthritis or other long-term conditions: pacing, sleep, managing flare-ups.",
        keywords: &["chronic pain", "fibromyalgia", "arthritis"],
        modes: &["in_person", "online"],
        route: "professional_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Practices,
    },
    Template {
        name: "Sleep Well Course",
        org: "{b} Health and Wellbeing Partnership",
        categories: &["mental_wellbeing"],
        description: "A free four-week course for adults who struggle to get to sleep or stay asleep, based on CBT for insomnia: routines, winding down, managing worry at night.",
        keywords: &["insomnia", "sleep", "tired"],
        modes: &["online", "in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Registered,
    },
    Template {
        name: "Disability Advice Line",
        org: "{b} Disability Partnership",
        categories: &["disability", "benefits"],
        description: "Advice run by and for disabled people on benefits, blue badges, adaptations, social care assessments and rights at work.",
        keywords: &["disabled", "blue badge", "adaptations"],
        modes: &["telephone"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Crisis Café",
        org: "Mind in {b}",
        categories: &["crisis", "mental_wellbeing"],
        description: "An out-of-hours safe space for adults in emotional distress or crisis, open evenings and weekends. Talk to trained staff, make a safety plan and get connected to further support.",
        keywords: &["crisis", "distress", "suicidal", "safe space"],
        modes: &["in_person", "telephone"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Veterans' Hub",
        org: "Greater Manchester Veterans' Network",
        categories: &["veterans", "peer_support"],
        description: "A drop-in hub for armed forces veterans and their families: welfare advice, housing, employment, peer support and a brew with people who have served.",
        keywords: &["veterans", "armed forces", "ex-forces"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Free Legal Advice Clinic",
        org: "{b} Law Centre",
        categories: &["legal", "housing"],
        description: "Free legal advice appointments on housing, employment, discrimination and immigration law from qualified solicitors and supervised law students.",
        keywords: &["solicitor", "legal advice", "employment law"],
        modes: &["in_person", "telephone"],
        route: "self_referral",
        ages: (Some(18), None),
        gender: "any",
        free: true,
        reach: Reach::Borough,
    },
    Template {
        name: "Community Gardening Project",
        org: "{b} Green Spaces Trust",
        categories: &["green_spaces", "volunteering"],
        description: "Grow food and flowers with others at our community allotments and gardens. Gentle outdoor activity, friendly people and fresh produce to take home.",
        keywords: &["gardening", "allotment", "nature"],
        modes: &["in_person"],
        route: "self_referral",
        ages: (Some(16), None),
        gender: "any",
        free: true,
        reach: Reach::Districts,
    },
];

const CONTACTS: &[&str] = &[
    "Sam Ahmed",
    "Jo Kowalski",
    "Priya Shah",
    "Tom Byrne",
    "Grace Okafor",
];

const REASONS: &[&str] = &[
    "staff shortage",
    "closed over the summer holidays",
    "venue being refurbished",
    "funding under review",
];

fn phone_for(seed: usize, borough: usize) -> String {
    let area = [
        "01204", "0161", "0161", "0161", "01706", "0161", "0161", "0161", "0161", "01942",
    ][borough];
    let n = 2_000_000 + (seed * 7919) % 7_000_000;
    if area == "0161" {
        format!("0161 {:03} {:04}", n / 10_000 % 1000, n % 10_000)
    } else {
        format!("{area} {:06}", n % 1_000_000)
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn demo_id(kind: u128, n: usize) -> Uuid {
    Uuid::from_u128((0x5167_0000_0000_7000_8000_0000_0000_0000u128) | (kind << 64) | n as u128)
}

fn coverage(reach: Reach, b: &Borough, seed: usize) -> Value {
    let rule = |t: &str, v: &str| json!({"type": t, "value": v});
    match reach {
        Reach::Borough => json!({"include": [rule("local_authority", b.la)]}),
        Reach::Districts => {
            let n = b.districts.len();
            let picked: Vec<Value> = (0..3.min(n))
                .map(|k| rule("district", b.districts[(seed + k) % n]))
                .collect();
            json!({"include": picked})
        }
        Reach::Registered => json!({"include": [rule("sub_icb", b.sub_icb)]}),
        Reach::Pcn => json!({"include": [rule("pcn", b.pcn)]}),
        Reach::Practices => {
            json!({"include": [rule("gp_practice", b.practices[0].0), rule("gp_practice", b.practices[1].0)]})
        }
        Reach::National => json!({"include": [{"type": "national"}]}),
        Reach::BoroughExceptOne => json!({
            "include": [rule("local_authority", b.la)],
            "exclude": [rule("district", b.districts[0])]
        }),
    }
}

/// The demo directory as service records in import format (one JSON object each).
pub fn services() -> Vec<Value> {
    let now = Utc::now();
    let mut out = Vec::new();
    let mut org_ids: Vec<(String, Uuid)> = Vec::new();
    let mut n = 0usize;
    for (bi, b) in BOROUGHS.iter().enumerate() {
        for (ti, t) in T.iter().enumerate() {
            let regional = !t.org.contains("{b}");
            // Regional and national services appear once, run from Manchester.
            if regional && b.name != "Manchester" {
                continue;
            }
            n += 1;
            let seed = bi * 101 + ti * 7;
            let org_name = t.org.replace("{b}", b.name);
            let org_id = match org_ids.iter().find(|(name, _)| *name == org_name) {
                Some((_, id)) => *id,
                None => {
                    let id = demo_id(1, org_ids.len() + 1);
                    org_ids.push((org_name.clone(), id));
                    id
                }
            };
            let website = format!("https://{}.org.uk/", slug(&org_name));
            let name = if regional {
                t.name.replace("{b}", "Greater Manchester")
            } else if t.name.contains("{b}") {
                t.name.replace("{b}", b.name)
            } else {
                format!("{} ({})", t.name, b.name)
            };
            let description = t.description.replace("{b}", b.name);
            let status = match n % 23 {
                5 => "temporarily_closed",
                17 => "inactive",
                _ if n % 97 == 40 => "defunct",
                _ => "active",
            };
            let capacity = match seed % 6 {
                0 | 1 => {
                    json!({"accepting": "open", "updated_at": (now - Duration::days((seed % 40) as i64)).to_rfc3339()})
                }
                2 => {
                    json!({"accepting": "waitlist", "waiting_weeks": 2 + seed % 10, "updated_at": (now - Duration::days((seed % 20) as i64)).to_rfc3339()})
                }
                3 => {
                    json!({"accepting": "closed", "updated_at": (now - Duration::days(3)).to_rfc3339()})
                }
                4 => {
                    json!({"accepting": "open", "updated_at": (now - Duration::days(200 + (seed % 100) as i64)).to_rfc3339()})
                }
                _ => Value::Null,
            };
            let assured = if seed % 5 == 0 {
                Value::Null
            } else {
                let days = if seed % 5 == 1 {
                    250 + seed % 300
                } else {
                    seed % 120
                };
                json!((now - Duration::days(days as i64)).date_naive().to_string())
            };
            let practice = &b.practices[seed % b.practices.len()];
            let district = b.districts[seed % b.districts.len()];
            let postcode = if district == b.town_centre.split(' ').next().unwrap_or("") {
                b.town_centre.to_string()
            } else {
                practice.2.to_string()
            };
            let mut svc = json!({
                "id": demo_id(2, n),
                "organization": {"id": org_id, "name": org_name, "website": website},
                "name": name,
                "description": description,
                "categories": t.categories,
                "keywords": t.keywords,
                "status": status,
                "delivery_modes": t.modes,
                "referral": {
                    "route": t.route,
                    "url": format!("{website}refer"),
                    "instructions": if t.route == "self_referral" { "Call or fill in the online form; we reply within two working days." } else { "Referrals from GPs, navigators and support workers by email with the person's consent." }
                },
                "url": website,
                "email": format!("hello@{}.org.uk", slug(&org_name)),
                "phones": [{"number": phone_for(seed, bi), "description": "Main line"}],
                "contacts": [{"name": CONTACTS[seed % CONTACTS.len()], "title": "Service coordinator"}],
                "languages": if seed % 4 == 0 { json!(["en", "ur", "pl"]) } else { json!(["en"]) },
                "cost": {"free": t.free, "description": if t.free { Value::Null } else { json!("Small weekly fee; ask about concessions") }},
                "opening_hours": [{"day": "monday", "opens": "09:00", "closes": "17:00"}, {"day": "wednesday", "opens": "09:00", "closes": "17:00"}, {"day": "friday", "opens": "10:00", "closes": "14:00"}],
                "gender": t.gender,
                "coverage": coverage(t.reach, b, seed),
                "capacity": capacity,
                "assured_date": assured,
                "locations": [{
                    "name": format!("{} hub", b.name),
                    "city": b.name,
                    "postal_code": postcode,
                    "latitude": b.hub.0 + (seed % 7) as f64 * 0.004,
                    "longitude": b.hub.1 - (seed % 5) as f64 * 0.006,
                }],
            });
            if let Some(min) = t.ages.0 {
                svc["minimum_age"] = json!(min);
            }
            if let Some(max) = t.ages.1 {
                svc["maximum_age"] = json!(max);
            }
            if status == "temporarily_closed" {
                let reopens = (now + Duration::days(14 + (seed % 60) as i64))
                    .date_naive()
                    .to_string();
                svc["temporary_closure"] =
                    json!({"reason": REASONS[seed % REASONS.len()], "reopens_on": reopens});
            }
            strip_nulls(&mut svc);
            out.push(svc);
        }
    }
    out
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, x| !x.is_null());
        for x in map.values_mut() {
            strip_nulls(x);
        }
    }
}

/// The demo's reference data (Greater Manchester; see `demo/geo/README.md`), built
/// into the binary so the demo answers eligibility by GP practice on any machine.
const GEO_SLICE: &[(&str, &str)] = &[
    (
        "epraccur_dse_2026-02.csv",
        include_str!("../demo/geo/epraccur_dse_2026-02.csv"),
    ),
    (
        "ePCN_2019-12_core_partner_details.csv",
        include_str!("../demo/geo/ePCN_2019-12_core_partner_details.csv"),
    ),
    (
        "derived_outcode_centroids_active.csv",
        include_str!("../demo/geo/derived_outcode_centroids_active.csv"),
    ),
    (
        "postcodesio_seed_onspd_postcode.csv",
        include_str!("../demo/geo/postcodesio_seed_onspd_postcode.csv"),
    ),
    (
        "postcodesio_sub_icb_locations_ccgs.json",
        include_str!("../demo/geo/postcodesio_sub_icb_locations_ccgs.json"),
    ),
];

/// Writes the built-in reference slice into a new temporary folder, for importing.
pub fn geo_slice() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (name, text) in GEO_SLICE {
        std::fs::write(dir.path().join(name), text)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_service_is_valid() {
        let all = services();
        assert!(all.len() >= 300, "only {} services", all.len());
        for s in all {
            if let Err(e) = crate::domain::parse_service(s.clone()) {
                panic!("{e:?} in {s}");
            }
        }
    }
}
