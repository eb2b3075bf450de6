"""The shared-secret handshake and TLS (with and without a client certificate), as the Java client has them."""

import shutil
import subprocess

import pytest

import lockstep


def test_a_shared_secret_lets_in_whoever_holds_it(start_coordinator, name, tmp_path, monkeypatch):
    c = start_coordinator(env={"LOCKSTEP_AUTH_SECRET": "open sesame, all of you"})
    with lockstep.connect(c.address, auth_secret="open sesame, all of you") as client:
        assert client.barrier(name, 1).wait() == 0
    secret_file = tmp_path / "secret"
    secret_file.write_text("open sesame, all of you\n")
    with lockstep.connect(c.address, auth_secret_file=str(secret_file)) as client:
        assert client.barrier(name, 1).wait() == 0
    monkeypatch.setenv("LOCKSTEP_AUTH_SECRET", "open sesame, all of you")
    assert lockstep.Barrier(1, name=name, address=c.address).wait() == 0


def test_a_wrong_or_missing_secret_is_refused_clearly(start_coordinator, monkeypatch):
    monkeypatch.delenv("LOCKSTEP_AUTH_SECRET", raising=False)
    c = start_coordinator(env={"LOCKSTEP_AUTH_SECRET": "open sesame, all of you"})
    with pytest.raises(lockstep.LockstepError) as wrong:
        lockstep.connect(c.address, auth_secret="guess")
    assert wrong.value.code == "AUTH_FAILED"
    with pytest.raises(lockstep.LockstepError) as missing:
        lockstep.connect(c.address)
    assert "requires a shared secret" in str(missing.value)


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, a coordinator certificate for 127.0.0.1/localhost and a client certificate, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the TLS tests' certificates (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Lockstep test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    # What Python 3.13's strict verification asks of a certificate, as a real CA's would have it.
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\n"
                               "extendedKeyUsage=serverAuth,clientAuth\nauthorityKeyIdentifier=keyid,issuer\n")
    for who in ("coordinator", "client"):
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", who + ".key", cwd=d)
        _openssl("req", "-new", "-key", who + ".key", "-out", who + ".csr", "-subj", "/CN=" + who, cwd=d)
        _openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", who + ".pem", "-days", "2", "-extfile", "san.cnf", cwd=d)
    return d


def test_tls_with_the_coordinators_ca(start_coordinator, certificates, name):
    d = certificates
    c = start_coordinator("--tls-cert", str(d / "coordinator.pem"), "--tls-key", str(d / "coordinator.key"))
    with lockstep.connect(c.address, tls_ca=str(d / "ca.pem")) as client:
        assert client.barrier(name, 1).wait() == 0
    with pytest.raises(lockstep.LockstepError) as plain:
        lockstep.connect(c.address, connect_timeout=5)
    assert plain.value.code == "TLS_REQUIRED"
    with pytest.raises(lockstep.LockstepError) as untrusted:
        lockstep.connect(c.address, tls=True, connect_timeout=5)  # the system's CAs do not know it
    assert "TLS failed" in str(untrusted.value)


def test_mutual_tls_needs_the_client_certificate(start_coordinator, certificates, name):
    d = certificates
    c = start_coordinator("--tls-cert", str(d / "coordinator.pem"), "--tls-key", str(d / "coordinator.key"),
                          "--tls-client-ca", str(d / "ca.pem"))
    with lockstep.connect(c.address, tls_ca=str(d / "ca.pem"), tls_cert=str(d / "client.pem"),
                          tls_key=str(d / "client.key")) as client:
        assert client.barrier(name, 1).wait() == 0
    with pytest.raises(lockstep.LockstepError):
        lockstep.connect(c.address, tls_ca=str(d / "ca.pem"), connect_timeout=5).barrier(name, 1).wait()
