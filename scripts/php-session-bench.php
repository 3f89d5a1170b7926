<?php
// php-session-bench.php: time PHP's own files session handler on one
// existing session, for comparison with BenchmarkCycle and
// BenchmarkTouchCycle (fsstore/bench_test.go). Used by scripts/bench-core.sh.
//
// Usage: php php-session-bench.php SAVE_PATH SIZE N MODE [NAME]
//   SAVE_PATH  session.save_path (put it on the filesystem the Go
//              benchmarks use)
//   SIZE       approximate size of the session file in bytes
//   N          requests to time
//   MODE       rmw    session_start, change a fixed-width counter,
//                     session_write_close: PHP 8.2 rewrites the file in
//                     place (ftruncate to 0, pwrite; no fsync, no rename)
//              touch  session_start, change nothing, session_write_close:
//                     with lazy_write PHP only updates the file's mtime
//   NAME       benchmark name to print (default
//              BenchmarkPHP/size=SIZE/mode=MODE)
//
// One line in `go test -bench` format goes to stdout, so benchstat can read
// it next to the Go results: mean ns/op, p50-ns and p99-ns, measured from
// before session_start to after session_write_close with hrtime.

if ($argc < 5) {
    fwrite(STDERR, "usage: php php-session-bench.php SAVE_PATH SIZE N MODE [NAME]\n");
    exit(2);
}
[$_, $path, $size, $n, $mode] = $argv;
$size = (int)$size;
$n = (int)$n;
$name = $argv[5] ?? "BenchmarkPHP/size=$size/mode=$mode";
if (!in_array($mode, ['rmw', 'touch'], true)) {
    fwrite(STDERR, "unknown mode $mode\n");
    exit(2);
}

// CLI: no cookies or cache headers; no garbage collection inside the loop
// (it would scan the directory); strict mode off so that we can resume our
// own ID; lazy_write on, as by default.
ini_set('session.save_handler', 'files');
ini_set('session.save_path', $path);
ini_set('session.use_cookies', '0');
ini_set('session.use_only_cookies', '0');
ini_set('session.cache_limiter', '');
ini_set('session.use_strict_mode', '0');
ini_set('session.gc_probability', '0');
ini_set('session.lazy_write', '1');
ini_set('session.serialize_handler', 'php');

// Create the session once, padded so that the file is about $size bytes.
$id = bin2hex(random_bytes(16));
session_id($id);
session_start();
$_SESSION['n'] = sprintf('%010d', 0);
$_SESSION['pad'] = '';
$overhead = strlen(session_encode());
$_SESSION['pad'] = str_repeat('x', max(0, $size - $overhead));
session_write_close();

$lat = [];
for ($i = 1; $i <= $n; $i++) {
    $t0 = hrtime(true);
    session_id($id);
    session_start();
    switch ($mode) {
    case 'rmw':
        $_SESSION['n'] = sprintf('%010d', $i);
        break;
    case 'touch':
        break;
    }
    session_write_close();
    $lat[] = hrtime(true) - $t0;
}
@unlink($path . '/sess_' . $id);

$mean = array_sum($lat) / count($lat);
sort($lat);
$p50 = $lat[intdiv(count($lat), 2)];
$p99 = $lat[intdiv(count($lat) * 99, 100)];
printf("%s\t%d\t%.0f ns/op\t%d p50-ns\t%d p99-ns\n", $name, $n, $mean, $p50, $p99);
