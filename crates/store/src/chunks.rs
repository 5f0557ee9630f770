//! Multi-row statements in a few fixed shapes, so that each connection compiles each
//! shape once and keeps it prepared.
//!
//! The digest's statements carry a row (or an id) per event, so their text varied with
//! the batch's size, and every batch compiled its statements afresh: compiling SQL was
//! a seventh of SQLite's time under load (docs/benchmarks.md). Now a list of ids is
//! padded to the next power of two by repeating its last id (harmless in `IN`), and
//! rows to insert go in chunks of [`INSERT_ROWS`] and then powers of two (each row once:
//! an upsert that adds counts must not see a row twice). That bounds the shapes of a
//! statement to about ten, which the connection's statement cache holds. The one
//! exception is the spool's append ([`keep_prepared`]).

/// Ids per `IN (…)` list, at most; a power of two.
pub(crate) const IN_LIST: usize = 512;

/// Rows per multi-row `INSERT`, at most; a power of two.
pub(crate) const INSERT_ROWS: usize = 128;

/// Prepared statements a connection keeps (sqlx's default is 100): every shape of
/// every multi-row statement of a batch fits, with room for the rest.
pub(crate) const STATEMENT_CACHE: usize = 256;

/// `items` split for multi-row inserts: chunks of [`INSERT_ROWS`], then one chunk per
/// power of two of what remains (at most eight sizes in all).
pub(crate) fn insert_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= INSERT_ROWS { INSERT_ROWS } else { 1 << rest.len().ilog2() };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// Whether a spool append of `rows` rows is kept prepared. A group commit is one
/// statement (splitting it would cost round trips and, outside a transaction, commits),
/// so its shapes are its sizes: those up to [`INSERT_ROWS`], the common ones, are kept.
pub(crate) fn keep_prepared(rows: usize) -> bool {
    rows <= INSERT_ROWS
}

/// A chunk of an `IN` list (at most [`IN_LIST`] long), then its last element again
/// until the count is a power of two.
pub(crate) fn padded<T>(chunk: &[T]) -> impl Iterator<Item = &T> {
    let pad = chunk.len().next_power_of_two() - chunk.len();
    chunk.iter().chain(chunk.last().into_iter().cycle().take(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_chunks_cover_every_row_once_in_few_sizes() {
        let mut sizes = std::collections::BTreeSet::new();
        for n in 0..=1000usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = insert_chunks(&items).collect();
            assert_eq!(chunks.concat(), items, "{n} rows");
            for c in &chunks {
                assert!(c.len().is_power_of_two() && c.len() <= INSERT_ROWS, "{n} rows: a chunk of {}", c.len());
                sizes.insert(c.len());
            }
            // Whole chunks, then at most one of each smaller size.
            assert!(chunks.len() <= n / INSERT_ROWS + INSERT_ROWS.ilog2() as usize, "{n} rows");
        }
        assert_eq!(sizes.len(), INSERT_ROWS.ilog2() as usize + 1);
    }

    #[test]
    fn padding_repeats_the_last_id_up_to_a_power_of_two() {
        assert_eq!(padded::<u8>(&[]).count(), 0);
        assert_eq!(padded(&[7]).collect::<Vec<_>>(), [&7]);
        assert_eq!(padded(&[1, 2, 3]).copied().collect::<Vec<_>>(), [1, 2, 3, 3]);
        assert_eq!(padded(&[1, 2, 3, 4]).copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
        let ids: Vec<u32> = (0..IN_LIST as u32 - 11).collect();
        let list: Vec<u32> = padded(&ids).copied().collect();
        assert_eq!(list.len(), IN_LIST);
        assert_eq!(&list[..ids.len()], &ids[..]);
        assert!(list[ids.len()..].iter().all(|&id| id == *ids.last().unwrap()));
    }
}
