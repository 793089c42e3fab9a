//! Reading a listing page by page, in the order the operator asked for: newest first (the
//! default: the newest `--limit` of everything that matches) or oldest first in pages
//! (`--oldest-first --limit N`, continued with the printed `--after` cursor).

use std::collections::VecDeque;

use shared::store::{Page, PageRequest};

use super::Failure;
use super::filter::Order;
use super::output::Progress;

/// Pages read at once when the whole listing is needed.
const BATCH: usize = 500;

/// The items `keep` accepts, in `order`, at most `limit` of them, and the cursor to continue
/// after (oldest first only). `fetch` reads one page in ascending store order.
pub async fn collect<T>(
    label: &'static str,
    order: Order,
    limit: Option<usize>,
    after: Option<String>,
    mut fetch: impl AsyncFnMut(&PageRequest) -> Result<Page<T>, Failure>,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, Option<String>), Failure> {
    let mut progress = Progress::new(label);
    let mut request = PageRequest { after, limit: 0 };
    let mut kept: VecDeque<T> = VecDeque::new();
    let mut read = 0;
    let next = loop {
        let want = if order.oldest_first {
            limit.map_or(BATCH, |l| l.saturating_sub(kept.len()))
        } else {
            BATCH
        };
        if want == 0 {
            break request.after;
        }
        request.limit = want.min(BATCH);
        let page = fetch(&request).await?;
        read += page.items.len();
        for item in page.items.into_iter().filter(|i| keep(i)) {
            kept.push_back(item);
            if !order.oldest_first && limit.is_some_and(|l| kept.len() > l) {
                kept.pop_front();
            }
        }
        progress.update(read, &format!("({} kept)", kept.len()));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break None,
        }
    };
    progress.finish();
    let mut items: Vec<T> = kept.into();
    if !order.oldest_first {
        items.reverse();
    }
    Ok((items, next))
}
