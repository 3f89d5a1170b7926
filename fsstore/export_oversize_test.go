package fsstore

// MaxRecordFileForTest is the size of the largest record any store
// writes (see oversize).
const MaxRecordFileForTest = maxRecordFile

// MaxFormatFileForTest is the size of the largest file a record's header
// can describe (see oversize).
const MaxFormatFileForTest = maxFormatFile
