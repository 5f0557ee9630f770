//! Giving back what startup made resident and the running server does not use.
//!
//! Startup (the command line, configuration, migrations, the workers' first rounds)
//! runs code from all over the binary, and the kernel maps the cached pages around
//! each first touch (fault-around, 64 KB), so a fresh server has 16 of its 33 MB of
//! code and constants resident while idle it runs a small part of that. Those pages
//! are the binary's own: file-backed, clean and identical to the file. Asking the
//! kernel to page them out (`MADV_PAGEOUT`, Linux 5.4) drops them; whatever runs again
//! is mapped back from the file on its first touch. Figures: docs/benchmarks.md,
//! "Idle memory".

use std::io;
use std::path::Path;
use std::time::Duration;

/// How long after startup the server pages its code out. Paged out as soon as
/// `start` returned, 13 of 16 MB were back within seconds (presumably the workers'
/// and the scheduler's first rounds); 5 s later, 4–8 MB come back.
const STARTUP_SETTLES: Duration = Duration::from_secs(5);

/// Once startup has settled, pages out the code it made resident. Spawned by a
/// serving process once [`crate::start`] has returned.
pub async fn give_back_startup_code() {
    tokio::time::sleep(STARTUP_SETTLES).await;
    match tokio::task::spawn_blocking(page_out_own_code).await.map_err(io::Error::other).and_then(|r| r) {
        Ok(bytes) => tracing::debug!(bytes, "startup code pages given back"),
        Err(e) => tracing::debug!("startup code pages kept: {e}"),
    }
}

/// Pages out the resident pages of this process's read-only mappings of its own
/// executable (code and constants; never writable data). Returns the size of the
/// mappings advised. The kernel skips pages another process also maps, and file pages
/// of a binary this process could not write (so a shared install is left alone).
#[cfg(target_os = "linux")]
pub fn page_out_own_code() -> io::Result<usize> {
    page_out_read_only(&std::fs::read_link("/proc/self/exe")?)
}

/// Pages out this process's read-only mappings of the file at `path`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn page_out_read_only(path: &Path) -> io::Result<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut advised = 0;
    for (start, end) in read_only_mappings(&maps, path) {
        // SAFETY: the range is a whole mapping of this process, as the kernel listed it.
        // MADV_PAGEOUT only reclaims pages; their contents are unchanged when they are
        // touched again, so no memory this program uses changes meaning.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        advised += end - start;
    }
    Ok(advised)
}

/// Other systems keep what they keep.
#[cfg(not(target_os = "linux"))]
pub fn page_out_own_code() -> io::Result<usize> {
    Ok(0)
}

/// The address ranges of `/proc/self/maps` lines that map `file` without write access.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn read_only_mappings<'a>(maps: &'a str, file: &'a Path) -> impl Iterator<Item = (usize, usize)> + 'a {
    maps.lines().filter_map(move |line| {
        // `start-end perms offset dev inode`, single-spaced, then padding and the path.
        let mut fields = line.splitn(6, ' ');
        let range = fields.next()?;
        let perms = fields.next()?;
        let path = fields.nth(3)?.trim_start();
        if Path::new(path) != file || perms.contains('w') {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (end > start).then_some((start, end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_read_only_mappings_of_the_executable() {
        let maps = "\
5581a0000000-5581a0200000 r--p 00000000 fd:01 42                         /opt/faultline/bin/faultline
5581a0200000-5581a1800000 r-xp 00200000 fd:01 42                         /opt/faultline/bin/faultline
5581a1800000-5581a1900000 rw-p 01800000 fd:01 42                         /opt/faultline/bin/faultline
5581a1900000-5581a1a00000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000100000 r-xp 00000000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 r-xp 00000000 fd:01 43                         /opt/faultline/bin/faultline-old
7f0000400000-7f0000500000 r--p 00000000 fd:01 44                         /opt/with space/faultline
";
        let exe = Path::new("/opt/faultline/bin/faultline");
        let found: Vec<_> = read_only_mappings(maps, exe).collect();
        assert_eq!(found, vec![(0x5581a0000000, 0x5581a0200000), (0x5581a0200000, 0x5581a1800000)]);
        let spaced: Vec<_> = read_only_mappings(maps, Path::new("/opt/with space/faultline")).collect();
        assert_eq!(spaced, vec![(0x7f0000400000, 0x7f0000500000)]);
    }

    /// Resident bytes of this process's read-only mappings of `file`, from smaps.
    #[cfg(target_os = "linux")]
    fn resident(file: &Path) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut resident_kb = 0;
        let mut ours = false;
        for line in smaps.lines() {
            if let Some(kb) = line.strip_prefix("Rss:") {
                if ours {
                    resident_kb += kb.trim().trim_end_matches(" kB").parse::<usize>().unwrap();
                }
            } else if line.split_once(' ').is_some_and(|(range, _)| range.contains('-') && !range.ends_with(':')) {
                ours = read_only_mappings(line, file).next().is_some();
            }
        }
        resident_kb * 1024
    }

    /// On a file only this process maps, synced so its pages are clean (the test
    /// binary itself is mapped by the test runner's other processes too, and a freshly
    /// linked one may still be being written back: the kernel skips both).
    #[cfg(target_os = "linux")]
    #[test]
    #[allow(unsafe_code)]
    fn pages_out_resident_pages_of_a_read_only_mapping() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        const LEN: usize = 4 << 20;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("code");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&vec![7u8; LEN]).unwrap();
        file.sync_all().unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: a fresh private read-only mapping of a file nothing else changes; it is
        // only read below, then unmapped.
        let map =
            unsafe { libc::mmap(std::ptr::null_mut(), LEN, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        assert_ne!(map, libc::MAP_FAILED);
        // SAFETY: the mapping is LEN readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(map as *const u8, LEN) };
        let sum: usize = bytes.iter().step_by(4096).map(|&b| usize::from(b)).sum();
        assert_eq!(sum, 7 * LEN / 4096);

        let before = resident(&path);
        let advised = page_out_read_only(&path).expect("madvise(MADV_PAGEOUT)");
        let after = resident(&path);
        // SAFETY: unmaps the mapping made above; `bytes` is not used after this.
        unsafe { libc::munmap(map, LEN) };
        assert_eq!(advised, LEN);
        assert_eq!(before, LEN, "every page was touched");
        assert_eq!(after, 0, "{after} B still resident after paging out");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_the_executable_and_advises_it() {
        assert!(page_out_own_code().expect("madvise(MADV_PAGEOUT) on our own code") > 0);
    }
}
