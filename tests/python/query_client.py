"""Runs one query through the gateway with Python grpcio and writes the
concatenated Arrow IPC stream to stdout; the receipt goes to stderr as JSON.

Usage: query_client.py STUBS_DIR HOST:PORT SQL
The stubs are generated from proto/ by the test that runs this script. The
bearer token comes from LAKEHOUSE_TOKEN, when set.
"""

import json
import os
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

from lakehouse.query.v1 import query_pb2, query_pb2_grpc  # noqa: E402


def main() -> None:
    target, sql = sys.argv[2], sys.argv[3]
    with grpc.insecure_channel(
        target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    ) as channel:
        stub = query_pb2_grpc.QueryServiceStub(channel)
        token = os.environ.get("LAKEHOUSE_TOKEN")
        metadata = [("authorization", f"Bearer {token}")] if token else []
        receipts = []
        out = sys.stdout.buffer
        try:
            request = query_pb2.ExecuteQueryRequest(sql=sql)
            for response in stub.ExecuteQuery(request, timeout=60, metadata=metadata):
                kind = response.WhichOneof("payload")
                message = getattr(response, kind)
                if kind == "header":
                    receipts = [
                        {"dataset": r.dataset, "version": r.version, "fingerprint": r.schema_fingerprint}
                        for r in message.receipts
                    ]
                out.write(message.arrow_ipc)
        except grpc.RpcError as error:
            sys.stderr.write(json.dumps({"code": error.code().name, "details": error.details()}))
            sys.exit(3)
        out.flush()
        sys.stderr.write(json.dumps({"receipts": receipts}))


if __name__ == "__main__":
    main()
