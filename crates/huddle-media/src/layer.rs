//! Simulcast layer selection: which of a publisher's layers one subscriber receives.
//!
//! A pure function of what the subscriber displays (tile size, visibility), what the
//! publisher sends (layer sizes and measured bitrates) and what the path to the
//! subscriber can carry (its bandwidth estimate share). It has no state of its own;
//! hysteresis against flapping lives in the caller, which only switches on keyframes.

/// What one subscriber wants of one track. Sizes are in CSS pixels times the device
/// pixel ratio, i.e. the pixels the tile really shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionSpec {
    /// False for tiles that are off screen or minimised: video is paused.
    pub visible: bool,
    pub width: u32,
    pub height: u32,
}

impl SubscriptionSpec {
    /// A visible tile of the given size.
    pub fn visible(width: u32, height: u32) -> Self {
        SubscriptionSpec {
            visible: true,
            width,
            height,
        }
    }

    /// An off-screen tile: nothing is forwarded.
    pub fn hidden() -> Self {
        SubscriptionSpec {
            visible: false,
            width: 0,
            height: 0,
        }
    }
}

impl Default for SubscriptionSpec {
    /// Until the client says what it shows, assume a large tile: the bandwidth
    /// estimate still caps what is sent.
    fn default() -> Self {
        SubscriptionSpec::visible(1280, 720)
    }
}

/// One simulcast layer as the SFU currently sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerInfo {
    pub width: u32,
    pub height: u32,
    /// Measured incoming bitrate of this layer, in bits per second.
    pub bitrate_bps: u64,
    /// False when the publisher stopped sending this layer (e.g. its own
    /// congestion control dropped it): it must not be chosen.
    pub active: bool,
}

/// Chooses the index into `layers` (ordered from lowest to highest quality) to forward,
/// or `None` to forward nothing.
///
/// Rules, in order:
/// 1. Hidden tiles get nothing.
/// 2. The wanted layer is the smallest one at least as large as the tile (within
///    `SIZE_SLACK`), or the largest if none is; upscaling looks worse than a
///    little downscaling, and sending more pixels than shown wastes bandwidth.
/// 3. Step down while the layer's bitrate exceeds `budget_bps`, when known.
/// 4. If even the lowest active layer exceeds the budget, still send it: a frozen
///    tile is worse than a congested one, and the estimate recovers by probing.
pub fn select_layer(
    layers: &[LayerInfo],
    spec: &SubscriptionSpec,
    budget_bps: Option<u64>,
) -> Option<usize> {
    if !spec.visible {
        return None;
    }
    let active: Vec<usize> = (0..layers.len()).filter(|&i| layers[i].active).collect();
    let lowest = *active.first()?;

    let wanted = active
        .iter()
        .copied()
        .find(|&i| covers(&layers[i], spec))
        .unwrap_or(*active.last().expect("active is not empty"));

    let Some(budget) = budget_bps else {
        return Some(wanted);
    };
    let affordable = active
        .iter()
        .copied()
        .filter(|&i| i <= wanted && layers[i].bitrate_bps <= budget)
        .max();
    Some(affordable.unwrap_or(lowest))
}

/// A layer is "big enough" if it is at least 80% of the tile in both dimensions: the
/// browser's mild upscale is invisible, and it avoids jumping to a 4x bigger layer
/// for a tile that is a few pixels larger than the middle layer.
const SIZE_SLACK: f32 = 0.8;

fn covers(layer: &LayerInfo, spec: &SubscriptionSpec) -> bool {
    layer.width as f32 >= spec.width as f32 * SIZE_SLACK
        && layer.height as f32 >= spec.height as f32 * SIZE_SLACK
}

/// Budget needed to move up to a layer, as a percentage of its bitrate.
pub const UP_HEADROOM_PERCENT: u64 = 115;

/// Damps upward switches: moving up a layer needs `UP_HEADROOM` more budget than the
/// layer's bitrate, so an estimate hovering at a layer's rate does not flap between
/// two layers (each switch costs a keyframe). Downward moves are never delayed.
pub fn damp_upswitch(
    previous: Option<usize>,
    next: Option<usize>,
    layers: &[LayerInfo],
    budget_bps: Option<u64>,
) -> Option<usize> {
    match (previous, next, budget_bps) {
        (Some(prev), Some(n), Some(budget))
            if n > prev && layers.get(prev).is_some_and(|l| l.active) =>
        {
            let needed = layers[n].bitrate_bps.saturating_mul(UP_HEADROOM_PERCENT) / 100;
            if needed > budget {
                Some(prev)
            } else {
                Some(n)
            }
        }
        _ => next,
    }
}

/// Splits a subscriber's bandwidth estimate between its visible video tracks.
///
/// Audio is reserved first (it is small and matters most); the rest is split evenly.
/// Returns `None` when there is no estimate yet, so that selection is by size only.
pub fn video_budget_per_track(
    estimate_bps: Option<u64>,
    audio_tracks: usize,
    visible_video_tracks: usize,
) -> Option<u64> {
    const AUDIO_RESERVE_BPS: u64 = 64_000;
    let estimate = estimate_bps?;
    let for_video = estimate.saturating_sub(AUDIO_RESERVE_BPS * audio_tracks as u64);
    Some(for_video / visible_video_tracks.max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Vec<LayerInfo> {
        vec![
            layer(320, 180, 150_000),
            layer(640, 360, 500_000),
            layer(1280, 720, 1_500_000),
        ]
    }

    fn layer(width: u32, height: u32, bitrate_bps: u64) -> LayerInfo {
        LayerInfo {
            width,
            height,
            bitrate_bps,
            active: true,
        }
    }

    #[test]
    fn hidden_tile_gets_nothing() {
        assert_eq!(
            select_layer(&ladder(), &SubscriptionSpec::hidden(), None),
            None
        );
    }

    #[test]
    fn no_layers_gets_nothing() {
        assert_eq!(select_layer(&[], &SubscriptionSpec::default(), None), None);
    }

    #[test]
    fn small_tile_gets_low_layer() {
        let spec = SubscriptionSpec::visible(200, 112);
        assert_eq!(select_layer(&ladder(), &spec, None), Some(0));
    }

    #[test]
    fn medium_tile_gets_middle_layer() {
        let spec = SubscriptionSpec::visible(640, 360);
        assert_eq!(select_layer(&ladder(), &spec, None), Some(1));
        // Slightly larger than the middle layer still takes it (slack).
        let spec = SubscriptionSpec::visible(700, 400);
        assert_eq!(select_layer(&ladder(), &spec, None), Some(1));
    }

    #[test]
    fn big_tile_gets_high_layer_and_huge_tile_gets_the_largest() {
        let spec = SubscriptionSpec::visible(1280, 720);
        assert_eq!(select_layer(&ladder(), &spec, None), Some(2));
        let spec = SubscriptionSpec::visible(3840, 2160);
        assert_eq!(select_layer(&ladder(), &spec, None), Some(2));
    }

    #[test]
    fn budget_steps_down() {
        let spec = SubscriptionSpec::visible(1280, 720);
        assert_eq!(select_layer(&ladder(), &spec, Some(1_000_000)), Some(1));
        assert_eq!(select_layer(&ladder(), &spec, Some(200_000)), Some(0));
    }

    #[test]
    fn budget_never_steps_up_past_the_tile() {
        let spec = SubscriptionSpec::visible(320, 180);
        assert_eq!(select_layer(&ladder(), &spec, Some(10_000_000)), Some(0));
    }

    #[test]
    fn below_lowest_layer_budget_still_sends_lowest() {
        let spec = SubscriptionSpec::visible(1280, 720);
        assert_eq!(select_layer(&ladder(), &spec, Some(10_000)), Some(0));
    }

    #[test]
    fn inactive_layers_are_skipped() {
        let mut layers = ladder();
        layers[2].active = false;
        let spec = SubscriptionSpec::visible(1280, 720);
        assert_eq!(select_layer(&layers, &spec, None), Some(1));
        layers[0].active = false;
        let spec = SubscriptionSpec::visible(100, 100);
        assert_eq!(select_layer(&layers, &spec, Some(10)), Some(1));
    }

    #[test]
    fn single_layer_publisher_is_always_chosen() {
        let layers = [layer(640, 480, 800_000)];
        let spec = SubscriptionSpec::visible(100, 100);
        assert_eq!(select_layer(&layers, &spec, Some(1)), Some(0));
    }

    #[test]
    fn upswitch_needs_headroom_but_downswitch_is_immediate() {
        let layers = ladder();
        // 1.5 Mbit/s top layer needs 1.725 Mbit/s to switch up.
        assert_eq!(
            damp_upswitch(Some(1), Some(2), &layers, Some(1_600_000)),
            Some(1)
        );
        assert_eq!(
            damp_upswitch(Some(1), Some(2), &layers, Some(1_800_000)),
            Some(2)
        );
        assert_eq!(
            damp_upswitch(Some(2), Some(0), &layers, Some(100_000)),
            Some(0)
        );
        // Without a budget, or from nothing, size alone decides.
        assert_eq!(damp_upswitch(Some(0), Some(2), &layers, None), Some(2));
        assert_eq!(damp_upswitch(None, Some(2), &layers, Some(1)), Some(2));
        assert_eq!(damp_upswitch(Some(1), None, &layers, Some(1)), None);
    }

    #[test]
    fn budget_split_reserves_audio() {
        assert_eq!(video_budget_per_track(None, 2, 2), None);
        assert_eq!(video_budget_per_track(Some(1_128_000), 2, 2), Some(500_000));
        assert_eq!(video_budget_per_track(Some(10_000), 2, 0), Some(0));
    }
}
