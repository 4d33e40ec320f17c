"""Code lists shared by the directory, matching and coverage, with Romanian and English labels.

The codes are part of the API contract; labels may improve over time.
"""

from __future__ import annotations

from typing import Literal

# (code, English label, Romanian label)
SERVICE_GROUPS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "accommodation": (
        "Accommodation",
        "Cazare",
        [
            ("emergency_accommodation", "Emergency accommodation", "Cazare în regim de urgență"),
            ("residential_shelter", "Residential shelter", "Centru rezidențial / adăpost"),
            ("protected_housing", "Protected housing", "Locuință protejată"),
            ("child_residential", "Residential care for children", "Centru rezidențial pentru copii"),
            ("place_of_safety", "Place of safety (short stay)", "Loc sigur (ședere scurtă)"),
        ],
    ),
    "health": (
        "Health",
        "Sănătate",
        [
            ("medical_care", "Medical care", "Asistență medicală"),
            ("psychological_counselling", "Psychological counselling", "Consiliere psihologică"),
            ("trauma_psychotherapy", "Trauma psychotherapy", "Psihoterapie pentru traumă"),
            ("psychiatric_care", "Psychiatric care", "Îngrijire psihiatrică"),
            ("addiction_services", "Addiction services", "Servicii pentru adicții"),
        ],
    ),
    "legal": (
        "Legal",
        "Juridic",
        [
            ("legal_counselling", "Legal counselling", "Consiliere juridică"),
            ("legal_representation", "Legal representation", "Reprezentare juridică"),
            ("criminal_proceedings_support", "Support in criminal proceedings", "Sprijin în procesul penal"),
            ("compensation_claims", "Compensation claims", "Cereri de despăgubire"),
            ("immigration_status", "Immigration and residence status", "Statut de imigrare și ședere"),
            ("identity_documents", "Identity documents", "Acte de identitate"),
        ],
    ),
    "social": (
        "Social",
        "Social",
        [
            ("case_management", "Case management", "Managementul cazului"),
            ("day_centre", "Day centre", "Centru de zi"),
            ("material_support", "Material support", "Sprijin material"),
            ("financial_support", "Financial support", "Sprijin financiar"),
            ("education", "Education", "Educație"),
            ("vocational_training", "Vocational training", "Formare profesională"),
            ("employment_support", "Employment support", "Sprijin pentru angajare"),
            ("family_reintegration", "Family reintegration", "Reintegrare familială"),
        ],
    ),
    "return": (
        "Return",
        "Întoarcere",
        [
            ("repatriation", "Repatriation", "Repatriere"),
            ("family_tracing", "Family tracing", "Identificarea familiei"),
            ("transport_escort", "Transport and escort", "Transport și însoțire"),
        ],
    ),
    "interpretation": (
        "Interpretation",
        "Interpretariat",
        [("interpretation", "Interpretation and intercultural mediation", "Interpretariat și mediere interculturală")],
    ),
    "outreach": (
        "Outreach",
        "Informare",
        [("outreach", "Helplines and outreach", "Linii de asistență și informare")],
    ),
    "aftercare": (
        "Aftercare",
        "Monitorizare",
        [("aftercare", "Monitoring after assistance", "Monitorizare după asistență")],
    ),
}

SERVICE_TYPES: dict[str, tuple[str, str, str]] = {
    code: (group, en, ro) for group, (_, _, items) in SERVICE_GROUPS.items() for code, en, ro in items
}

# Services whose use consumes a place; matching requires free capacity (or unknown capacity) for these.
CAPACITY_BOUND_TYPES: frozenset[str] = frozenset(
    code for code, (group, _, _) in SERVICE_TYPES.items() if group == "accommodation"
)

# Romanian Criminal Code art. 182 and Directive 2011/36/EU as amended by Directive (EU) 2024/1712.
EXPLOITATION_FORMS: dict[str, tuple[str, str]] = {
    "sexual": ("Sexual exploitation", "Exploatare sexuală"),
    "labour": ("Forced labour or services", "Muncă sau servicii forțate"),
    "domestic_servitude": ("Domestic servitude", "Servitute domestică"),
    "begging": ("Forced begging", "Cerșetorie forțată"),
    "forced_criminality": ("Exploitation of criminal activities", "Exploatarea activităților infracționale"),
    "slavery_servitude": ("Slavery or practices similar to slavery", "Sclavie sau practici similare"),
    "organ_removal": ("Removal of organs", "Prelevarea de organe"),
    "forced_marriage": ("Forced marriage", "Căsătorie forțată"),
    "illegal_adoption": ("Illegal adoption", "Adopție ilegală"),
    "surrogacy": ("Exploitation of surrogacy", "Exploatarea maternității surogat"),
    "other": ("Other exploitation", "Altă formă de exploatare"),
}

GENDERS: dict[str, tuple[str, str]] = {
    "female": ("Female", "Feminin"),
    "male": ("Male", "Masculin"),
    "other": ("Other", "Altul"),
}

NATIONALITY_GROUPS: dict[str, tuple[str, str]] = {
    "romanian": ("Romanian citizen", "Cetățean român"),
    "eu_eea": ("EU/EEA citizen", "Cetățean UE/SEE"),
    "third_country": ("Third-country national", "Cetățean din afara UE"),
    "stateless": ("Stateless person", "Apatrid"),
}

VICTIM_STATUSES: dict[str, tuple[str, str]] = {
    "potential": ("Potential victim", "Victimă potențială"),
    "presumed": ("Presumed victim", "Victimă prezumată"),
    "identified": ("Identified victim", "Victimă identificată"),
}

ACCESSIBILITY: dict[str, tuple[str, str]] = {
    "wheelchair": ("Wheelchair accessible", "Accesibil pentru scaun rulant"),
    "hearing": ("Support for deaf or hard-of-hearing people", "Sprijin pentru persoane cu deficiențe de auz"),
    "visual": ("Support for blind or partially sighted people", "Sprijin pentru persoane cu deficiențe de vedere"),
    "intellectual": ("Support for people with intellectual disabilities", "Sprijin pentru persoane cu dizabilități intelectuale"),
}

# Conditions a service may exclude (it cannot take such a person) or require (it exists for them).
CONDITION_FLAGS: dict[str, tuple[str, str]] = {
    "active_substance_use": ("Active substance use", "Consum activ de substanțe"),
    "acute_mental_health_crisis": ("Acute mental health crisis", "Criză acută de sănătate mintală"),
    "pregnancy": ("Pregnancy", "Sarcină"),
}

CAPACITY_UNITS: dict[str, tuple[str, str]] = {
    "places": ("Places", "Locuri"),
    "beds": ("Beds", "Paturi"),
    "cases_per_month": ("Cases per month", "Cazuri pe lună"),
    "sessions_per_week": ("Sessions per week", "Ședințe pe săptămână"),
}

LEGAL_FORMS: dict[str, tuple[str, str]] = {
    "association": ("Association", "Asociație"),
    "foundation": ("Foundation", "Fundație"),
    "federation": ("Federation", "Federație"),
    "public_institution": ("Public institution", "Instituție publică"),
    "university_centre": ("University centre", "Centru universitar"),
    "religious_organisation": ("Religious organisation", "Organizație religioasă"),
    "international_organisation": ("International organisation", "Organizație internațională"),
    "other": ("Other", "Altă formă"),
}

# ISO 639-1 codes; the set of languages a service may declare. Covers the languages of
# victims identified in Romania and the main languages of the EU and neighbouring countries.
LANGUAGES: dict[str, tuple[str, str]] = {
    "ro": ("Romanian", "Română"),
    "hu": ("Hungarian", "Maghiară"),
    "rom": ("Romani", "Romani"),
    "en": ("English", "Engleză"),
    "fr": ("French", "Franceză"),
    "de": ("German", "Germană"),
    "it": ("Italian", "Italiană"),
    "es": ("Spanish", "Spaniolă"),
    "pt": ("Portuguese", "Portugheză"),
    "nl": ("Dutch", "Neerlandeză"),
    "el": ("Greek", "Greacă"),
    "pl": ("Polish", "Poloneză"),
    "cs": ("Czech", "Cehă"),
    "sk": ("Slovak", "Slovacă"),
    "bg": ("Bulgarian", "Bulgară"),
    "sr": ("Serbian", "Sârbă"),
    "hr": ("Croatian", "Croată"),
    "uk": ("Ukrainian", "Ucraineană"),
    "ru": ("Russian", "Rusă"),
    "tr": ("Turkish", "Turcă"),
    "ar": ("Arabic", "Arabă"),
    "fa": ("Persian", "Persană"),
    "ps": ("Pashto", "Paștună"),
    "ur": ("Urdu", "Urdu"),
    "hi": ("Hindi", "Hindi"),
    "bn": ("Bengali", "Bengali"),
    "ne": ("Nepali", "Nepaleză"),
    "si": ("Sinhala", "Singaleză"),
    "vi": ("Vietnamese", "Vietnameză"),
    "zh": ("Chinese", "Chineză"),
    "tl": ("Tagalog", "Tagalog"),
    "ka": ("Georgian", "Georgiană"),
    "hy": ("Armenian", "Armeană"),
    "az": ("Azerbaijani", "Azeră"),
    "sq": ("Albanian", "Albaneză"),
    "so": ("Somali", "Somaleză"),
    "ti": ("Tigrinya", "Tigrină"),
    "am": ("Amharic", "Amharică"),
    "sw": ("Swahili", "Swahili"),
    "ha": ("Hausa", "Hausa"),
    "yo": ("Yoruba", "Yoruba"),
    "ig": ("Igbo", "Igbo"),
}
# Romani has no ISO 639-1 code; ISO 639-2 "rom" is used, the only non-two-letter code.

AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-5": (0, 5),
    "6-13": (6, 13),
    "14-17": (14, 17),
    "18-24": (18, 24),
    "25-39": (25, 39),
    "40-64": (40, 64),
    "65+": (65, None),
}

URGENCIES: dict[str, tuple[str, str]] = {
    "emergency": ("Emergency", "Urgență imediată"),
    "urgent": ("Urgent", "Urgent"),
    "planned": ("Planned", "Planificat"),
}

# The networks of the first network migration; networks are rows of the ``network`` table since
# (directory/networks.py, GET /api/v1/networks), and this list stays for HSDS's taxonomy.
NETWORKS: dict[str, tuple[str, str]] = {
    "protect": ("ProTECT platform", "Platforma ProTECT"),
    "ngo15": ("Informal network of 15 NGOs (2020)", "Rețeaua informală a 15 ONG-uri (2020)"),
}

# Referring bodies (organisations of kind "institution"); labels (EN, RO).
INSTITUTION_TYPES: dict[str, tuple[str, str]] = {
    "police": ("Police (trafficking unit)", "Poliție (structura de combatere a traficului)"),
    "border_police": ("Border police", "Poliția de Frontieră"),
    "immigration": ("Immigration", "Imigrări"),
    "prosecutor": ("Prosecutor's office", "Parchet"),
    "labour_inspectorate": ("Labour inspectorate", "Inspecția muncii"),
    "child_protection": ("Child protection", "Protecția copilului"),
    "anitp": ("ANITP (national anti-trafficking agency)", "ANITP (Agenția Națională împotriva Traficului de Persoane)"),
    "other": ("Other", "Altele"),
}
# Why a provider declines a referral offer (the one list: API, answer page, reviews, exports, FHIR).
DECLINE_REASONS: dict[str, tuple[str, str]] = {
    "no_capacity": ("No free place", "Niciun loc liber"),
    "not_eligible": ("The person is not eligible for this service", "Persoana nu este eligibilă pentru acest serviciu"),
    "safety": ("Safety", "Siguranță"),
    "other": ("Other", "Alt motiv"),
}
# A closed referral's outcome (the codes of referrals.lifecycle.Outcome), for the pages.
OUTCOMES: dict[str, tuple[str, str]] = {
    "services_started": ("Services started", "Serviciile au început"),
    "person_left": ("The person left", "Persoana a plecat"),
    "transferred": ("Transferred to another provider", "Transferată la alt furnizor"),
    "completed": ("Services completed", "Serviciile s-au încheiat"),
    "other": ("Other outcome", "Alt rezultat"),
}
# The service groups of a platform's yearly report (what the ProTECT brochure publishes: beneficiaries of
# residential accommodation, of day-centre services, of reintegration, repatriations): (EN, RO, service types).
# Every service type is in exactly one group.
REPORT_GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "residential": ("Residential accommodation", "Cazare rezidențială",
                    ("emergency_accommodation", "residential_shelter", "protected_housing", "child_residential", "place_of_safety")),
    "day_centre": ("Day-centre services", "Servicii de centru de zi", ("day_centre",)),
    "counselling": ("Medical and psychological care", "Asistență medicală și psihologică",
                    ("medical_care", "psychological_counselling", "trauma_psychotherapy", "psychiatric_care", "addiction_services")),
    "legal": ("Legal assistance", "Asistență juridică",
              ("legal_counselling", "legal_representation", "criminal_proceedings_support", "compensation_claims",
               "immigration_status", "identity_documents")),
    "reintegration": ("Reintegration", "Reintegrare",
                      ("family_reintegration", "education", "vocational_training", "employment_support", "material_support",
                       "financial_support")),
    "repatriation": ("Repatriation", "Repatriere", ("repatriation", "family_tracing", "transport_escort")),
    "other": ("Other assistance", "Altă asistență", ("case_management", "interpretation", "outreach", "aftercare")),
}  # fmt: skip
ORGANISATION_KINDS: dict[str, tuple[str, str]] = {
    "provider": ("Service provider", "Furnizor de servicii"),
    "institution": ("Referring institution", "Instituție care referă"),
}

Gender = Literal["female", "male", "other"]
NationalityGroup = Literal["romanian", "eu_eea", "third_country", "stateless"]
VictimStatus = Literal["potential", "presumed", "identified"]
Urgency = Literal["emergency", "urgent", "planned"]
AgeBand = Literal["0-5", "6-13", "14-17", "18-24", "25-39", "40-64", "65+", "unknown"]
Priority = Literal["required", "desired"]
SecurityRisk = Literal["low", "medium", "high"]
Role = Literal["institution", "ngo", "secretariat", "admin"]

# ISO 3166-2:RO codes of the 41 counties and Bucharest (checked against data/geo/counties.csv in tests).
COUNTY_CODES: tuple[str, ...] = (
    "RO-AB", "RO-AR", "RO-AG", "RO-BC", "RO-BH", "RO-BN", "RO-BT", "RO-BV", "RO-BR", "RO-B",
    "RO-BZ", "RO-CS", "RO-CL", "RO-CJ", "RO-CT", "RO-CV", "RO-DB", "RO-DJ", "RO-GL", "RO-GR",
    "RO-GJ", "RO-HR", "RO-HD", "RO-IL", "RO-IS", "RO-IF", "RO-MM", "RO-MH", "RO-MS", "RO-NT",
    "RO-OT", "RO-PH", "RO-SM", "RO-SJ", "RO-SB", "RO-SV", "RO-TR", "RO-TM", "RO-TL", "RO-VS",
    "RO-VL", "RO-VN",
)  # fmt: skip

# Literal types built from the code lists, so msgspec rejects an unknown code with the field's path
# and the OpenAPI schema lists the allowed values.
ServiceType = Literal[tuple(SERVICE_TYPES)]  # type: ignore[valid-type]


def need_label(need: str) -> str:
    """A need as the vocabulary names it in English ("Residential care for children"), from its code or the code
    spelled with spaces (as messages' payloads carry it); anything else as it is."""
    code = need.replace(" ", "_")
    return SERVICE_TYPES[code][1] if code in SERVICE_TYPES else need
ExploitationForm = Literal[tuple(EXPLOITATION_FORMS)]  # type: ignore[valid-type]
CountyCode = Literal[COUNTY_CODES]  # type: ignore[valid-type]
LanguageCode = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]
AccessibilityCode = Literal[tuple(ACCESSIBILITY)]  # type: ignore[valid-type]
ConditionFlag = Literal[tuple(CONDITION_FLAGS)]  # type: ignore[valid-type]
CapacityUnit = Literal[tuple(CAPACITY_UNITS)]  # type: ignore[valid-type]
LegalForm = Literal[tuple(LEGAL_FORMS)]  # type: ignore[valid-type]
NetworkCode = Literal[tuple(NETWORKS)]  # type: ignore[valid-type]
InstitutionType = Literal[tuple(INSTITUTION_TYPES)]  # type: ignore[valid-type]
OrganisationKind = Literal[tuple(ORGANISATION_KINDS)]  # type: ignore[valid-type]
DeclineReason = Literal[tuple(DECLINE_REASONS)]  # type: ignore[valid-type]
