"""E-license domain: license types, identifiers, lifecycle, credential and city-code
formats, status lists and verification. Pure: no database, web framework, chain
client or clock (time is passed in)."""
