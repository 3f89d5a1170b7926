package nfstest

import "golang.org/x/sys/unix"

// oNonblock opens the control loop's FIFO without waiting for a reader.
const oNonblock = unix.O_NONBLOCK
