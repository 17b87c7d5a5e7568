#!/usr/bin/env python3
"""A topicwire client in Python, written from the .proto files alone.

Generate the message classes, then publish and subscribe:

    protoc --python_out=gen -I . proto/article.proto
    PYTHONPATH=gen python3 examples/python/roundtrip.py \
        --publish tcp://127.0.0.1:7400 --stream tcp://127.0.0.1:7401

It subscribes to every stream, publishes two articles over a REQ socket (one about quantum
computing, one about football), prints ingest's acks, and waits until both arrive on their
streams: quantum and untagged. Exit status 0 when they did, 1 otherwise.
"""
import argparse
import sys
import time
import uuid

import zmq

from proto import article_pb2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", required=True, help="ingest's publish endpoint")
    parser.add_argument("--stream", required=True, help="sink's stream endpoint")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for both")
    args = parser.parse_args()

    context = zmq.Context()
    subscriber = context.socket(zmq.SUB)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"")  # every stream; the first frame names it
    subscriber.connect(args.stream)

    run = uuid.uuid4().hex[:8]
    expected = {f"py-{run}-quantum": "quantum", f"py-{run}-football": "untagged"}
    request = article_pb2.PublishRequest()
    quantum = request.articles.add(id=f"py-{run}-quantum", source="python-example",
                                   title="Quantum computer beats classical supercomputer",
                                   body="Researchers ran a quantum algorithm on 100 qubits.")
    quantum.published_at.GetCurrentTime()
    request.articles.add(id=f"py-{run}-football", source="python-example",
                         title="Late goal wins the derby", body="The home side scored in the 90th minute.")

    publisher = context.socket(zmq.REQ)  # REQ adds the empty delimiter; ingest mirrors it back
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    publisher.connect(args.publish)
    deadline = time.monotonic() + args.timeout
    poller = zmq.Poller()
    poller.register(subscriber, zmq.POLLIN)

    def publish(req):
        publisher.send(req.SerializeToString())
        rep = article_pb2.PublishReply()
        rep.ParseFromString(publisher.recv())
        return rep

    # A SUB socket only receives what is published after its subscription reached the
    # publisher: send probe articles until one comes back, then publish for real.
    try:
        probe = 0
        while not poller.poll(timeout=200):
            if time.monotonic() > deadline:
                print(f"nothing arrived on {args.stream}", file=sys.stderr)
                return 1
            probe_request = article_pb2.PublishRequest()
            probe_request.articles.add(id=f"py-{run}-probe-{probe}", title="probe")
            publish(probe_request)
            probe += 1
        reply = publish(request)
    except zmq.Again:
        print(f"no reply from {args.publish} within {args.timeout}s", file=sys.stderr)
        return 1
    for ack in reply.acks:
        print(f"ack {ack.id}: {article_pb2.PublishAck.Status.Name(ack.status)} {ack.reason}")
    if reply.error or any(ack.status != article_pb2.PublishAck.ACCEPTED for ack in reply.acks):
        print(f"not accepted: {reply.error}", file=sys.stderr)
        return 1

    while expected and time.monotonic() < deadline:
        if not poller.poll(timeout=100):
            continue
        stream, payload = subscriber.recv_multipart()
        tagged = article_pb2.TaggedArticle()
        tagged.ParseFromString(payload)
        if expected.get(tagged.article.id) == stream.decode():
            tags = ", ".join(f"{t.topic} {t.score:.2f}" for t in tagged.tags) or "-"
            print(f"{stream.decode()}#{tagged.stream_sequence} seq={tagged.sequence} "
                  f"[{tags}] {tagged.article.id}: {tagged.article.title}")
            del expected[tagged.article.id]
    if expected:
        print(f"never arrived: {sorted(expected)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
