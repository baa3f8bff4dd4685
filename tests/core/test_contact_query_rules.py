"""Contact list queries: pagination as the contract says, filters, sort, every bad param at once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contact_queries import (
    CONTACT_SORTS,
    PAGE_MAX,
    PER_PAGE_MAX,
    ContactQuery,
    PageRequest,
    parse_contact_query,
    parse_page_request,
    search_digits,
    search_key,
)
from nexus_core.errors import ValidationFailed


def refused(params: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_contact_query(params)
    return [(error.field, error.code) for error in caught.value.errors]


def test_defaults() -> None:
    query = parse_contact_query({})
    assert query == ContactQuery(1, 20, None, None, (), "-created_at")
    assert query.offset == 0
    assert query.search_digits is None


def test_every_parameter() -> None:
    query = parse_contact_query(
        {
            "page": "3",
            "per_page": "50",
            "search": "  García ",
            "status": "inactivo",
            "tags": "VIP, cliente,,vip",
            "sort": "name",
        }
    )
    assert query == ContactQuery(3, 50, "García", "inactivo", ("vip", "cliente"), "name")
    assert query.offset == 100


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), (" 7 ", 7), ("007", 7), ("+2", 2)])
def test_page_numbers(raw: str, expected: int) -> None:
    assert parse_contact_query({"page": raw}).page == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("100", 100), ("101", 100), ("5000", 100), ("9" * 40, 100)],
)
def test_per_page_above_the_maximum_is_clamped(raw: str, expected: int) -> None:
    assert parse_contact_query({"per_page": raw}).per_page == expected


def test_a_page_far_past_the_end_is_still_a_page() -> None:
    assert parse_contact_query({"page": "123456"}).page == 123456
    huge = parse_contact_query({"page": "9" * 5000, "per_page": "100"})
    assert huge.page == PAGE_MAX
    assert huge.offset < 2**63


@pytest.mark.parametrize("raw", ["0", "-1", "-0", "000"])
def test_below_one_is_refused(raw: str) -> None:
    assert refused({"page": raw, "per_page": raw}) == [
        ("page", "field.below_minimum"),
        ("per_page", "field.below_minimum"),
    ]


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", "２", "1_000", "0x10", "--1"])
def test_non_integers_are_refused(raw: str) -> None:
    assert refused({"page": raw}) == [("page", "field.not_an_integer")]


@pytest.mark.parametrize("name", ["page", "per_page", "search", "status", "tags", "sort"])
def test_a_blank_parameter_is_absent(name: str) -> None:
    assert parse_contact_query({name: ""}) == parse_contact_query({name: "  "}) == ContactQuery()


def test_unknown_parameters_are_ignored() -> None:
    assert parse_contact_query({"_": "1700000000", "order": "asc"}) == ContactQuery()


@pytest.mark.parametrize("sort", CONTACT_SORTS)
def test_sorts(sort: str) -> None:
    assert parse_contact_query({"sort": sort}).sort == sort


@pytest.mark.parametrize("sort", ["id", "Name", "+name", "-email", "created"])
def test_unknown_sorts_are_refused(sort: str) -> None:
    assert refused({"sort": sort}) == [("sort", "contact.sort_invalid")]


def test_status_filter() -> None:
    assert parse_contact_query({"status": "activo"}).status == "activo"
    assert refused({"status": "todos"}) == [("status", "contact.status_invalid")]


def test_tags_follow_the_tag_rules() -> None:
    assert parse_contact_query({"tags": " , "}).tags == ()
    assert refused({"tags": "x" * 41}) == [("tags", "contact.tag_too_long")]
    assert refused({"tags": ",".join(f"t{i}" for i in range(21))}) == [
        ("tags", "contact.too_many_tags")
    ]


def test_search_bounds() -> None:
    assert parse_contact_query({"search": "s" * 254}).search == "s" * 254
    assert refused({"search": "s" * 255}) == [("search", "field.too_long")]
    assert refused({"search": "ana\x00"}) == [("search", "field.invalid_characters")]


def test_every_bad_parameter_is_reported_at_once() -> None:
    assert refused(
        {
            "page": "0",
            "per_page": "many",
            "search": "\x1b",
            "status": "vip",
            "tags": "t" * 50,
            "sort": "random",
        }
    ) == [
        ("page", "field.below_minimum"),
        ("per_page", "field.not_an_integer"),
        ("search", "field.invalid_characters"),
        ("status", "contact.status_invalid"),
        ("tags", "contact.tag_too_long"),
        ("sort", "contact.sort_invalid"),
    ]


@pytest.mark.parametrize(
    ("search", "digits"),
    [
        ("600 111", "600111"),
        ("+34 600-111-222", "34600111222"),
        ("(600) 11.12", "6001112"),
        ("García", None),
        ("ana@example.com", None),
        ("  ", None),
        (None, None),
        ("٣٤٥", None),  # digits a phone stored in E.164 never holds
        ("ana2", "2"),
    ],
)
def test_search_digits(search: str | None, digits: str | None) -> None:
    assert search_digits(search) == digits


def test_a_query_gives_its_searchs_phone_digits() -> None:
    assert parse_contact_query({"search": "600 111 222"}).search_digits == "600111222"
    assert parse_contact_query({"search": "garc"}).search_digits is None


def test_page_request_alone() -> None:
    assert parse_page_request({}) == PageRequest(1, 20)
    assert parse_page_request({"page": "2", "per_page": "1000", "search": "x"}) == PageRequest(
        2, PER_PAGE_MAX
    )
    assert PageRequest(4, 25).offset == 75
    with pytest.raises(ValidationFailed):
        parse_page_request({"per_page": "0"})


_PARAMS = st.dictionaries(
    st.sampled_from(["page", "per_page", "search", "status", "tags", "sort", "other"]),
    st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-5, max_value=10**12).map(str),
        st.sampled_from(["activo", "inactivo", *CONTACT_SORTS, "vip,cliente"]),
    ),
)


@given(_PARAMS)
def test_any_query_string_parses_or_fails_with_field_errors(params: dict[str, str]) -> None:
    try:
        query = parse_contact_query(params)
    except ValidationFailed as failure:
        fields = [error.field for error in failure.errors]
        assert fields
        assert set(fields) <= set(params)
        return
    assert 1 <= query.page <= PAGE_MAX
    assert 1 <= query.per_page <= PER_PAGE_MAX
    assert query.sort in CONTACT_SORTS
    assert query.search is None or query.search == query.search.strip() != ""
    digits = query.search_digits
    assert digits is None or (digits.isascii() and digits.isdigit())


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("García", "garcia"),
        ("ÁLVARO Núñez", "alvaro nunez"),
        ("Straße", "strasse"),
        ("Zoë", "zoe"),
        ("İstanbul", "istanbul"),
        ("ǅemal", "dzemal"),
        ("ﬁesta", "fiesta"),
        ("O'Brien-Smith 100%", "o'brien-smith 100%"),
        ("", ""),
    ],
)
def test_search_key_ignores_case_and_accents(text: str, key: str) -> None:
    assert search_key(text) == key


@given(st.text() | st.lists(st.sampled_from(["García", " ", "ß", "\u0301", "A", "ǅ"])).map("".join))
def test_the_shortcuts_change_nothing(text: str) -> None:
    import unicodedata

    slow = "".join(
        char
        for char in unicodedata.normalize("NFKD", text.casefold())
        if not unicodedata.combining(char)
    )
    assert search_key(text) == slow


def test_a_query_gives_its_searchs_key() -> None:
    assert ContactQuery(search="  GARCÍA ").search_key == "  garcia "
    assert ContactQuery().search_key is None
