//! When a failed delivery is tried again. Each retry is a new queue message sent with a
//! delay; Cloudflare Queues delays a message by at most 12 hours, so the schedule grows to
//! that and then repeats it until more than a day has passed.

/// The largest delay Queues accepts for one message (12 hours).
pub const MAX_QUEUE_DELAY_SECONDS: u32 = 43_200;

/// Delays before attempts 2, 3, ... (seconds): about 40 hours in all.
const DELAYS: [u32; 10] = [
    5,
    60,
    300,
    1_800,
    3_600,
    7_200,
    14_400,
    28_800,
    MAX_QUEUE_DELAY_SECONDS,
    MAX_QUEUE_DELAY_SECONDS,
];

/// Attempts in all (the first try and every retry).
pub const MAX_ATTEMPTS: u32 = DELAYS.len() as u32 + 1;

/// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed; `None`
/// once every attempt is spent (the event goes to the dead-letter queue).
pub fn delay_after(attempt: u32) -> Option<u32> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    DELAYS.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_the_queue_limit_for_more_than_a_day() {
        let delays: Vec<u32> = (1..MAX_ATTEMPTS).map(|a| delay_after(a).unwrap()).collect();
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert!(delays.iter().all(|d| *d <= MAX_QUEUE_DELAY_SECONDS));
        assert!(delays.iter().map(|d| u64::from(*d)).sum::<u64>() >= 24 * 3600);
        assert_eq!(delay_after(0), None);
        assert_eq!(delay_after(1), Some(5));
        assert_eq!(delay_after(MAX_ATTEMPTS), None);
    }
}
