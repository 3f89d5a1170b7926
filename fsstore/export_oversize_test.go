package fsstore

// MaxRecordFileForTest is the size of the largest record any store
// writes (see oversize).
const MaxRecordFileForTest = maxRecordFile
