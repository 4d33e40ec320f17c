import pytest

from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES


def test_counties_match_code_list():
    counties = geo.counties()
    assert len(counties) == 42
    assert set(counties) == set(COUNTY_CODES)
    assert all(code == c.code == f"RO-{c.short}" for code, c in counties.items())


def test_bucharest_county():
    b = geo.counties()["RO-B"]
    assert b.name == "București" and b.seat == "București"
    assert b.lat == pytest.approx(44.43, abs=0.05) and b.lon == pytest.approx(26.10, abs=0.05)


def test_every_county_seat_is_found_as_its_locality():
    for c in geo.counties().values():
        found = geo.find_locality(c.code, c.seat)
        assert found is not None and found.siruta == c.seat_siruta, c.code


def test_fold():
    assert geo.fold("Pașcani") == geo.fold("Paşcani") == geo.fold(" PASCANI ") == "pascani"
    assert geo.fold("Cluj-Napoca") == geo.fold("cluj  napoca") == "cluj napoca"
    assert geo.fold("Târgu Mureș, Ţăndărei, Însurăței") == "targu mures, tandarei, insuratei"


@pytest.mark.parametrize("name", ["Pașcani", "Paşcani", "pascani", "PAȘCANI"])
def test_find_locality_pascani(name):
    loc = geo.find_locality("RO-IS", name)
    assert loc is not None and loc.name == "Pașcani" and loc.county == "RO-IS"
    assert loc.kind == "municipality" and loc.urban  # the municipality, not its seat locality
    assert loc.lat == pytest.approx(47.25, abs=0.05) and loc.lon == pytest.approx(26.72, abs=0.05)


@pytest.mark.parametrize("name", ["București", "Bucuresti", "bucurești", "Bucharest"])
def test_find_bucharest(name):
    loc = geo.find_locality("RO-B", name)
    assert loc is not None and loc.kind == "municipality" and loc.siruta == geo.counties()["RO-B"].seat_siruta
    assert (loc.lat, loc.lon) == pytest.approx((44.43, 26.10), abs=0.05)


def test_bucharest_sectors():
    assert geo.find_locality("RO-B", "Sector 3").name == "București Sectorul 3"
    assert geo.find_locality("RO-B", "București Sectorul 6").kind == "sector"


@pytest.mark.parametrize("name", ["Cluj-Napoca", "Cluj Napoca", "cluj-napoca"])
def test_find_cluj(name):
    loc = geo.find_locality("RO-CJ", name)
    assert loc is not None and loc.name == "Cluj-Napoca" and loc.kind == "municipality"


def test_commune_preferred_over_its_seat_village():
    same_name = [loc for loc in geo.localities() if loc.county == "RO-IS" and loc.name == "Ciurea"]
    assert {loc.kind for loc in same_name} >= {"commune", "village"}
    assert geo.find_locality("RO-IS", "Ciurea").kind == "commune"


def test_unknown_locality_or_county():
    assert geo.find_locality("RO-IS", "Atlantis") is None
    assert geo.find_locality("RO-IS", "Cluj-Napoca") is None  # other county
    assert geo.find_locality("RO-XX", "Iași") is None


def test_suggest_localities():
    assert "Pașcani" in geo.suggest_localities("RO-IS", "Pascan")
    assert geo.suggest_localities("RO-IS", "Pascan", limit=2)[0] == "Pașcani"
    assert geo.suggest_localities("RO-XX", "Pascan") == []


def test_localities_inside_romania():
    locs = geo.localities()
    assert len(locs) == 3181 + 13755
    assert {loc.county for loc in locs} == set(COUNTY_CODES)
    outside = [loc for loc in locs if not (43.5 <= loc.lat <= 48.5 and 20 <= loc.lon <= 30)]
    assert outside == []


def test_point_of():
    seat = geo.counties()["RO-IS"]
    assert geo.point_of("RO-IS", None) == (seat.lat, seat.lon)
    assert geo.point_of("RO-IS", "") == (seat.lat, seat.lon)
    assert geo.point_of("RO-IS", "pascani") == pytest.approx((47.25, 26.72), abs=0.05)
    with pytest.raises(KeyError):
        geo.point_of("RO-XX", None)
    with pytest.raises(LookupError, match="Pașcani"):  # suggestion in the message
        geo.point_of("RO-IS", "Pascanu")


def test_county_shapes_one_feature_per_county():
    shapes = geo.county_shapes()
    codes = [f["properties"]["iso_3166_2"] for f in shapes["features"]]
    assert len(codes) == len(set(codes)) == 42
    assert set(codes) == set(COUNTY_CODES)


def test_data_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("REFERRALNET_DATA_DIR", str(tmp_path))
    assert geo.data_dir() == tmp_path
    monkeypatch.delenv("REFERRALNET_DATA_DIR")
    assert (geo.data_dir() / "geo" / "counties.csv").is_file()
