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
/// after (oldest first only; newest first says on standard error how many older ones the limit
/// left out). `fetch` reads one page in ascending store order.
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
    let mut dropped = 0_usize;
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
                dropped += 1;
            }
        }
        progress.update(read, &format!("({} kept)", kept.len()));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break None,
        }
    };
    progress.finish();
    if dropped > 0 {
        // On standard error, as the cursor of the other order: standard output stays data.
        eprintln!(
            "{dropped} older not shown (--limit); --oldest-first --limit N pages through all"
        );
    }
    let mut items: Vec<T> = kept.into();
    if !order.oldest_first {
        items.reverse();
    }
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing of 0..n in pages of the requested size, cursor = last item.
    async fn read(
        n: u32,
        order: Order,
        limit: Option<usize>,
        after: Option<String>,
    ) -> (Vec<u32>, Option<String>) {
        collect(
            "read:",
            order,
            limit,
            after,
            async |request: &PageRequest| {
                let start = request
                    .after
                    .as_deref()
                    .map_or(0, |a| a.parse::<u32>().unwrap() + 1);
                let items: Vec<u32> = (start..n).take(request.limit).collect();
                let next = (items.len() == request.limit)
                    .then(|| items.last().map(u32::to_string))
                    .flatten();
                Ok(Page { items, next })
            },
            |i: &u32| i.is_multiple_of(2),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn newest_first_keeps_the_newest_of_everything() {
        let newest = Order::default();
        let (all, next) = read(1200, newest, None, None).await;
        assert_eq!(all.len(), 600);
        assert_eq!((all[0], all[599], next), (1198, 0, None));
        let (latest, next) = read(1200, newest, Some(3), None).await;
        assert_eq!((latest, next), (vec![1198, 1196, 1194], None));
    }

    #[tokio::test]
    async fn oldest_first_pages_with_a_cursor() {
        let oldest = Order { oldest_first: true };
        let (first, next) = read(10, oldest, Some(2), None).await;
        assert_eq!(first, [0, 2]);
        let next = next.expect("a cursor");
        let (rest, end) = read(10, oldest, None, Some(next)).await;
        assert_eq!((rest, end), (vec![4, 6, 8], None));
    }
}
