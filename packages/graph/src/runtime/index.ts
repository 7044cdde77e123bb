// Sessions and execution providers (filled in by the runtime work).
export {};
