"""Interoperability: the directory as Open Referral HSDS 3.0 (export, import, read API) and referrals as FHIR R4."""
