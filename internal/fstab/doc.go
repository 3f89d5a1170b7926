// Package fstab tells a directory below a share that /etc/fstab mounts
// but that is not mounted on this host: the share failed to mount at
// boot, and what is there is the local disk below the mount point. A
// store made there would split a fleet's sessions (fsstore creates none),
// and a sweep of it would find nothing to do (sessgc refuses it).
package fstab
