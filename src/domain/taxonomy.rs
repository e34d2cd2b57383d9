//! The seeded taxonomy of the kinds of support navigators signpost to.

use serde::Serialize;

/// One kind of support, with the words directories and callers use for it.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Category {
    /// Stable identifier used in the API, e.g. `debt`.
    pub id: &'static str,
    /// The label shown to people, e.g. `Debt advice`.
    pub name: &'static str,
    /// One sentence on what belongs here.
    pub description: &'static str,
}

macro_rules! categories {
    ($( $id:literal => $name:literal, $desc:literal; )*) => {
        /// Every category, in the order they are listed to users.
        pub const CATEGORIES: &[Category] = &[
            $( Category { id: $id, name: $name, description: $desc }, )*
        ];
    };
}

categories! {
    "debt" => "Debt advice", "Help with debts, arrears, bailiffs, creditors and money management.";
    "benefits" => "Benefits and welfare rights", "Help claiming benefits, Universal Credit, PIP, appeals and grants.";
    "money" => "Money and budgeting", "Budgeting, energy bills, cost of living support and financial capability.";
    "food" => "Food support", "Food banks, community pantries, free meals and food vouchers.";
    "befriending" => "Befriending and social connection", "Befriending, social groups and company for people who are lonely or isolated.";
    "bereavement" => "Bereavement support", "Support after the death of someone close, grief counselling and groups.";
    "carers" => "Carers' support", "Support, breaks and advice for unpaid carers.";
    "employment" => "Employment and skills", "Help finding work, job clubs, CVs, careers advice and staying in work.";
    "housing" => "Housing advice", "Housing advice, tenancy problems, repairs, rent arrears and eviction.";
    "homelessness" => "Homelessness", "Help for people who are homeless or about to lose their home.";
    "domestic_abuse" => "Domestic abuse", "Support and safety for people experiencing domestic abuse.";
    "sexual_violence" => "Sexual violence", "Support after rape, sexual assault or abuse.";
    "drugs_alcohol" => "Drugs and alcohol", "Support with drinking, drug use and recovery.";
    "gambling" => "Gambling", "Support for people harmed by gambling and their families.";
    "physical_activity" => "Physical activity", "Walking groups, exercise classes, sport and active living.";
    "parenting" => "Parenting and families", "Parenting support, family groups and help for parents.";
    "young_people" => "Young people", "Services for young people and young adults.";
    "older_people" => "Older people", "Services for older people.";
    "lgbtq" => "LGBTQ+", "Support and groups for lesbian, gay, bisexual, trans and queer people.";
    "refugees" => "Refugees and asylum seekers", "Support for refugees, asylum seekers and migrants.";
    "esol" => "English language (ESOL)", "English classes for speakers of other languages.";
    "digital_skills" => "Digital skills", "Help getting online, devices and computer skills.";
    "arts" => "Arts and creativity", "Creative, arts, music and craft activities for wellbeing.";
    "volunteering" => "Volunteering", "Volunteering opportunities and support to volunteer.";
    "peer_support" => "Peer support", "Groups run by and for people with shared experience.";
    "long_term_conditions" => "Long-term conditions", "Support for living with long-term health conditions and pain.";
    "disability" => "Disability", "Support and advice for disabled people.";
    "crisis" => "Crisis support", "Urgent support for people in crisis or at risk.";
    "mental_wellbeing" => "Mental wellbeing", "Wellbeing courses, sleep, stress and self-help support.";
    "legal" => "Legal advice", "Free legal advice, immigration and employment law.";
    "education" => "Learning and education", "Adult learning, courses and qualifications.";
    "veterans" => "Veterans", "Support for armed forces veterans and their families.";
    "women" => "Women's services", "Services for women.";
    "men" => "Men's services", "Services and groups for men, including men's sheds.";
    "community" => "Community groups", "Community centres, faith and neighbourhood groups.";
    "green_spaces" => "Gardening and nature", "Gardening, allotments and green space activities.";
}

/// Looks a category up by its identifier.
pub fn find(id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.id == id)
}
