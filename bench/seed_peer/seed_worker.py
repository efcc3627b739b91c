#!/usr/bin/python3
"""Worker half of the seed's pattern: pop a cloudpickled job from a Redis list,
call its main(), push the object's new state to the reply list the job names.

Each job message is cloudpickle.dumps((job_id, reply_list, obj)); each reply is
cloudpickle.dumps((job_id, obj)). This process holds no copy of the job's class:
it arrives by value inside every message.
"""
import argparse
import signal
import sys

import cloudpickle
import redis


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queue", required=True, help="Redis list to pop jobs from")
    args = parser.parse_args()

    # The worker spends its life blocked in BLPOP; raising from the handler
    # interrupts that read, so SIGTERM stops it at once instead of after a poll.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    r = redis.Redis(host="127.0.0.1", port=args.port)
    while True:
        _, message = r.blpop([args.queue])
        job_id, reply_list, obj = cloudpickle.loads(message)
        obj.main()
        r.rpush(reply_list, cloudpickle.dumps((job_id, obj)))


if __name__ == "__main__":
    main()
