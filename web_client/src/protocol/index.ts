export * from "./types";
export * from "./clock";
export * from "./schedule";
export * from "./api";
export * from "./view";
export { RoomClient, toCircleError } from "./room-client";
export type { RoomState, RoomEvents, SocketLike, SocketFactory, TokenProvider } from "./room-client";
export { MediaSession } from "./media";
export type { PeerLike, PeerFactory, RemoteMedia, TrackLike, LocalTracks } from "./media";
