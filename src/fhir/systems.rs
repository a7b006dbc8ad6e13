//! Every URI the FHIR API reads or writes, in one place: the patient identifier systems (which
//! name the service a request is put to), the tracking code's system, and the code systems and
//! extension of the benefits. The README's FHIR section lists them too; a client builds its
//! requests from that list.
//!
//! A `cnam` or `mutual` person is named by two identifiers at once (SPEC §2: matricule + CIN,
//! both halves of one person): the contained `Patient` carries the CIN under [`TN_CIN`] and the
//! fund's number under [`TN_CNAM_MATRICULE`] (`cnam`) or [`TN_MUTUAL_MEMBER`] (`mutual`); the
//! matricule's system says which fund is asked.

/// An Iranian national code, or a foreign national's number in Iran: `tamin`.
pub(crate) const IR_NATIONAL_CODE: &str = "https://daftar.example/id/ir-national-code";
/// A Kazakh individual identification number (IIN, 12 digits with a check digit): `osms`.
pub(crate) const KZ_IIN: &str = "https://daftar.example/id/kz-iin";
/// A Tunisian national identity card number (CIN, 8 digits): the person's half of a `cnam` or
/// `mutual` pair.
pub(crate) const TN_CIN: &str = "https://daftar.example/id/tn-cin";
/// A CNAM affiliation number (matricule), written without its key: the pair is put to `cnam`.
pub(crate) const TN_CNAM_MATRICULE: &str = "https://daftar.example/id/tn-cnam-matricule";
/// The complementary mutual fund's member number (a matricule, without key): the pair is put
/// to `mutual`.
pub(crate) const TN_MUTUAL_MEMBER: &str = "https://daftar.example/id/tn-mutual-member";

/// The tracking code (SPEC §6) in a response's `identifier`.
pub(crate) const TRACKING_CODE: &str = "https://daftar.example/id/tracking-code";

/// daftar's categories of a benefit item (`item[].category`): `ordinary`, `chronic`,
/// `spouse`, `child`, `dental`.
pub(crate) const BENEFIT_CATEGORY: &str = "https://daftar.example/fhir/CodeSystem/benefit-category";
/// HL7's benefit types (`item[].benefit[].type`): daftar writes `benefit`, the ceiling.
pub(crate) const HL7_BENEFIT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/benefit-type";
/// HL7's benefit terms (`item[].term`): daftar writes `annual` for a ceiling of the year.
pub(crate) const HL7_BENEFIT_TERM: &str = "http://terminology.hl7.org/CodeSystem/benefit-term";
/// The extension on an item that gives the period it covers (`valuePeriod`): a ceiling's
/// calendar year, or a chronic coverage's end. R4 has no element for either.
pub(crate) const ITEM_PERIOD: &str = "https://daftar.example/fhir/StructureDefinition/item-period";

/// The currency of the Tunisian funds' amounts.
pub(crate) const TND: &str = "TND";
