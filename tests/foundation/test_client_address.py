"""matmis.client_address: the client's address, believing X-Forwarded-For only as far as
the trusted proxies wrote it."""

import pytest
from django.test import RequestFactory, override_settings

from matmis.client_address import client_address


def request(remote="10.0.0.2", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_header_is_ignored():
    assert client_address(request(forwarded="203.0.113.4")) == "10.0.0.2"


@override_settings(MATMIS_TRUSTED_PROXIES=1)
def test_one_proxy_the_last_entry_is_the_client():
    # The client wrote the first entry itself; the proxy appended what it saw.
    assert client_address(request(forwarded="1.2.3.4, 203.0.113.4")) == "203.0.113.4"


@override_settings(MATMIS_TRUSTED_PROXIES=2)
def test_two_proxies_the_second_from_the_right():
    forwarded = "1.2.3.4, 203.0.113.4, 10.0.0.9"
    assert client_address(request(forwarded=forwarded)) == "203.0.113.4"


@override_settings(MATMIS_TRUSTED_PROXIES=2)
def test_fewer_entries_than_proxies_is_not_believed():
    assert client_address(request(forwarded="1.2.3.4")) == "10.0.0.2"


@override_settings(MATMIS_TRUSTED_PROXIES=1)
@pytest.mark.parametrize("forwarded", ["", "not-an-address", "203.0.113.4\\x00", " , "])
def test_an_entry_that_is_no_address_falls_back_to_the_peer(forwarded):
    assert client_address(request(forwarded=forwarded)) == "10.0.0.2"


@override_settings(MATMIS_TRUSTED_PROXIES=1)
def test_addresses_are_normalised():
    assert client_address(request(forwarded="[2001:DB8::1]:443")) == "2001:db8::1"
    assert client_address(request(forwarded=" 2001:db8:0::2 ")) == "2001:db8::2"


def test_no_address_at_all():
    assert client_address(request(remote="")) is None
