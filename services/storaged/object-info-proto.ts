import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ObjectInfo as ObjectInfoMessage,
  ObjectInfoSchema,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import type { ObjectInfo } from "./object-backend.js";

/** Converts backend metadata to the wire message (sizes become int64). */
export function objectInfoToProto(info: ObjectInfo): ObjectInfoMessage {
  return create(ObjectInfoSchema, {
    key: info.key,
    size: BigInt(info.size),
    sha256: info.sha256,
    etag: info.etag,
    contentType: info.contentType,
    modifyTime: timestampFromDate(info.modifyTime),
  });
}

/** Converts the wire message back to the plain shape client helpers return. */
export function objectInfoFromProto(message: ObjectInfoMessage): ObjectInfo {
  return {
    key: message.key,
    size: Number(message.size),
    sha256: message.sha256,
    etag: message.etag,
    contentType: message.contentType,
    modifyTime: message.modifyTime ? timestampDate(message.modifyTime) : new Date(0),
  };
}
