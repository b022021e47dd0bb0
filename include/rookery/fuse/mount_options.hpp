// How the mount looks to the kernel and to its users: the options `rookery mount` passes on to the
// connection (connection.hpp) and to the serving process (fuse_adapter.hpp).
#pragma once
#include <string>

namespace rookery::fuse {

struct MountOptions {
  std::string mountpoint;
  bool allow_other = false;  // let other users see the mount (needs user_allow_other for non-root)
  bool debug = false;        // libfuse's own request trace
  // Kernel readahead for the mount, in KiB (0: none, the kernel reads only the pages asked for,
  // one request per page), once every joined release has landed. Measured on a landed 1 GiB
  // file: 128 KiB reads it cold at 0.93x the cache file's speed, 4 MiB at 1.3x, and warm reads
  // also gain (larger page-cache folios).
  unsigned readahead_kb = 4096;
  // ... and while any joined release is partial. Readahead of missing pieces costs link time
  // that reads are waiting for: in the lab (lazy start, 1 GiB release, 200 Mbit/s) 4 MiB took 10.1 s,
  // 256 KiB 4.8 s, 128 KiB 3.5 s (256 KiB pieces); in a fleet-wide lazy start (16 hosts reading
  // 1/8 of every file) 256 KiB made each host fetch 3.6x what it read, 128 KiB 2.4x (5.4 s -> 3.1 s).
  // Files keep the value in force when they were opened (the kernel copies it). 0 on the host that
  // records a hot set (`rookery trace`) makes the trace hold only what the application read, not
  // the kernel's readahead into each run's next piece.
  unsigned partial_readahead_kb = 128;
  // ... and while a joined release's hot set (catalog/hot_set.hpp) is still arriving. The hot set
  // holds what the application reads (recorded without readahead), so readahead past it fetches
  // pieces nobody waits for, on the link the hot set needs: at 64 hosts (herd, hot set of 2 MiB,
  // 128 KiB pieces, three alternating rounds) 0 against 128 made the origin send 1.90-1.93x the
  // hot set instead of 2.02-2.10x and each host receive 1.26-1.31x instead of 1.53-1.71x; the
  // herd's time stayed within noise. Files opened meanwhile keep it (see above); 0 for every
  // partial release instead would cost each read of a landed piece a FUSE round trip.
  unsigned hot_set_readahead_kb = 0;
};

}  // namespace rookery::fuse
