#!/usr/bin/python3
# Writes what canmatrix (Debian's python3-canmatrix 0.9.5) decodes from random
# payloads of every message of every file in ../shared/dbc, one JSON file per
# DBC file, for tests/core/dbc/agreement_test.ts.
#
#   /usr/bin/python3 tests/core/dbc/vectors/generate.py ../shared/dbc tests/core/dbc/vectors
#
# Each message: its signals with the payload bits each one covers (found with
# canmatrix's own bit indexing, Frame.bitstring_to_signal_list), and samples:
# [payload hex, [[signal, ...] for every signal canmatrix's Frame.decode() returns]]:
# [index in signals, physical value as canmatrix's Decimal prints it, label of the raw value in
# canmatrix's value table or null, canmatrix's own named_value when a string or
# null]. canmatrix's named_value looks the *physical* value up in the table
# (Signal.raw2phys), while DBC value descriptions are keyed by raw value
# (Vector's DBC format 1.0.5, section 11); both are kept so the test can show
# where they part.
import glob
import json
import os
import random
import subprocess
import sys

import canmatrix.formats

SAMPLES = 8
VERSION = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-canmatrix"],
                         capture_output=True, text=True).stdout or canmatrix.__version__  # random payloads per message, besides all-zero and all-one


def bit_positions(frame, signal):
    """(byte, bit) of each of the signal's bits, most significant first."""
    size = frame.size * 8
    if signal.is_little_endian:
        least = size - signal.start_bit
        most = least - signal.size
        # little = bytes reversed; string index i is byte size/8-1-i//8, bit 7-i%8
        return [(frame.size - 1 - i // 8, 7 - i % 8) for i in range(most, least)]
    most = signal.start_bit
    return [(i // 8, 7 - i % 8) for i in range(most, most + signal.size)]


def set_raw(data, frame, signal, raw):
    positions = bit_positions(frame, signal)
    for k, (byte, bit) in enumerate(reversed(positions)):
        if not 0 <= byte < len(data):
            continue
        if (raw >> k) & 1:
            data[byte] |= 1 << bit
        else:
            data[byte] &= ~(1 << bit) & 0xFF


def mux_chains(frame):
    """For each multiplexed signal: [(multiplexor signal, raw value), ...] that selects it."""
    by_name = {s.name: s for s in frame.signals}
    top = [s for s in frame.signals if s.is_multiplexer and s.muxer_for_signal is None]
    chains = []
    for s in frame.signals:
        chain = []
        cur = s
        for _ in range(8):
            if cur.muxer_for_signal is not None and cur.mux_val_grp:
                parent = by_name.get(cur.muxer_for_signal)
                value = int(cur.mux_val_grp[0][0])
            elif cur.mux_val is not None and top:
                parent = top[0]
                value = cur.mux_val
            else:
                break
            if parent is None:
                break
            chain.append((parent, value))
            cur = parent
        if chain:
            chains.append(chain)
    return chains


def text(value):
    return None if value is None else str(value)


def main(source, target):
    for path in sorted(glob.glob(os.path.join(source, "*", "*.dbc"))):
        rel = os.path.relpath(path, source)
        db = canmatrix.formats.loadp_flat(path)
        rng = random.Random(rel)
        messages = []
        for frame in db.frames:
            if frame.size == 0:
                continue
            signals = []
            for s in frame.signals:
                mask = bytearray(frame.size)
                inside = True
                for byte, bit in bit_positions(frame, s):
                    if 0 <= byte < frame.size:
                        mask[byte] |= 1 << bit
                    else:
                        inside = False
                # A signal running past the message's length (mazda_2017's HVAC
                # NEW_SIGNAL_4): canmatrix decodes the bits it finds; flagged.
                signals.append({"name": s.name, "mask": mask.hex(), "inside": inside})
            payloads = [bytearray(frame.size), bytearray(b"\xff" * frame.size)]
            payloads += [bytearray(rng.getrandbits(8) for _ in range(frame.size)) for _ in range(SAMPLES)]
            for chain in mux_chains(frame):
                data = bytearray(rng.getrandbits(8) for _ in range(frame.size))
                for mux, value in reversed(chain):
                    set_raw(data, frame, mux, value)
                payloads.append(data)
            index = {s.name: i for i, s in enumerate(frame.signals)}
            samples = []
            for data in payloads:
                decoded = frame.decode(bytes(data))
                values = []
                for name, d in decoded.items():
                    raw = d.raw_value
                    label = None if d.signal.is_float else d.signal.values.get(raw)
                    named = d.named_value
                    values.append([index[name], str(d.phys_value), text(label),
                                   named if isinstance(named, str) else None])
                samples.append([data.hex(), values])
            messages.append({
                "name": frame.name,
                "id": frame.arbitration_id.id,
                "extended": frame.arbitration_id.extended,
                "size": frame.size,
                "signals": signals,
                "samples": samples,
            })
        out = os.path.join(target, rel.replace(os.sep, "_").replace(".dbc", ".json"))
        with open(out, "w") as f:
            json.dump({"file": rel, "canmatrix": VERSION, "messages": messages}, f,
                      separators=(",", ":"))
            f.write("\n")
        print(out, len(messages), "messages", sum(len(m["samples"]) for m in messages), "samples")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
