//! Where the diagram's scroller stands: following the newest message, or keeping a picked
//! arrow on screen, and which stretch of the drawing is laid out.

use leptos::html::Div;
use leptos::prelude::*;

/// Height of the sticky row of lifeline names over the diagram (1.6rem).
const HEAD_HEIGHT: f64 = 26.0;
/// Arrows this far outside the visible area are drawn too, so scrolling shows no blank edge.
const OVERSCAN: f64 = 400.0;
/// Until the scroller is measured.
const DEFAULT_VIEWPORT: f64 = 560.0;
/// Frames in which a picked arrow is brought on screen (a second at 60 Hz): while peers
/// work, the drawing's height can lag the layout by a frame or two.
const PICK_TRIES: u32 = 60;

#[derive(Clone, Copy)]
pub struct Scroll {
    pub element: NodeRef<Div>,
    /// Keep the newest message in view.
    pub follow: RwSignal<bool>,
    /// The picked arrow is kept on screen until the learner scrolls.
    pinned: StoredValue<bool>,
    /// The scroller's position and height as last seen (or set by the diagram itself).
    top: RwSignal<f64>,
    viewport: RwSignal<f64>,
}

impl Scroll {
    pub fn new() -> Self {
        Scroll {
            element: NodeRef::new(),
            follow: RwSignal::new(true),
            pinned: StoredValue::new(false),
            top: RwSignal::new(0.0),
            viewport: RwSignal::new(DEFAULT_VIEWPORT),
        }
    }

    /// The stretch of the drawing to lay out: what the scroller shows, plus the overscan.
    pub fn window(self) -> (f64, f64) {
        let top = self.top.get();
        (top - OVERSCAN, top + self.viewport.get() + OVERSCAN)
    }

    /// After each new layout: to the newest message when following, and across to it when
    /// `across` (given the columns and rows shown) says it is off to the side (see
    /// [`testbed::diagram::across_to`]); else the pinned arrow (`arrow_extent`) stays on
    /// screen, as messages stamped before it (receives read late from the wire) push it down.
    /// A pinned arrow no longer drawn (its kind or lifeline hidden) is unpinned, so later
    /// layouts do not search the whole diagram for it again.
    pub fn after_layout(
        self,
        picked: Option<u64>,
        arrow_extent: impl Fn(u64) -> Option<(f64, f64)>,
        across: impl Fn(f64, f64, f64, f64) -> Option<f64>,
    ) {
        let Some(el) = self.element.get_untracked() else {
            return;
        };
        if self.follow.get() {
            el.set_scroll_top(el.scroll_height());
            // The drawing's new height can reach the DOM after this effect has run, which
            // left the newest arrows (a step's last ones) just below the scroller's edge.
            request_animation_frame(move || self.to_end());
            let left = f64::from(el.scroll_left());
            let top = f64::from(el.scroll_top());
            let right = left + f64::from(el.client_width());
            // In the scroller, the drawing starts below the sticky row of lifeline names.
            let bottom = top + f64::from(el.client_height()) - HEAD_HEIGHT;
            if let Some(x) = across(left, right, top, bottom) {
                el.set_scroll_left(x as i32);
            }
        } else if let Some(picked) = picked.filter(|_| self.pinned.get_value()) {
            match arrow_extent(picked) {
                Some(extent) => {
                    self.bring_on_screen(extent);
                }
                None => self.pinned.set_value(false),
            }
        }
        // A hidden scroller sends no scroll events: the window drawn catches up once shown.
        self.sync();
    }

    /// Stops following and shows the first arrows, once the panel is drawn (one just shown
    /// has no height yet).
    pub fn to_start(self) {
        self.follow.set(false);
        self.pinned.set_value(false);
        request_animation_frame(move || {
            if let Some(el) = self.element.get_untracked() {
                el.set_scroll_top(0);
                self.sync();
            }
        });
    }

    /// While following, to the drawing's end as it is now drawn.
    fn to_end(self) {
        let Some(el) = self.element.get_untracked() else {
            return;
        };
        if self.follow.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            self.sync();
        }
    }

    /// A message was picked elsewhere (the wire view, "Show me"): following stops, and its
    /// arrow is brought on screen once the panel is drawn (one just shown has no height yet),
    /// trying again on the next frames until it is there.
    pub fn pick(
        self,
        still_picked: impl Fn() -> bool + Copy + 'static,
        arrow_extent: impl Fn() -> Option<(f64, f64)> + Copy + 'static,
    ) {
        self.follow.set(false);
        self.pinned.set_value(true);
        each_frame_until(PICK_TRIES, move || {
            // No such arrow to show (any more): nothing to wait for.
            !still_picked() || arrow_extent().is_none_or(|extent| self.bring_on_screen(extent))
        });
    }

    /// Scrolls so that an arrow reaching from `top` to `bottom` of the drawing is on screen
    /// whole (its upper part, where it is taller than the screen); true once it is.
    fn bring_on_screen(self, (top, bottom): (f64, f64)) -> bool {
        let Some(el) = self.element.get_untracked() else {
            return true;
        };
        // In the scroller, the drawing starts below the sticky row of lifeline names.
        let height = f64::from(el.client_height());
        let top = top + HEAD_HEIGHT;
        let bottom = (bottom + HEAD_HEIGHT).min(top + height - HEAD_HEIGHT - 16.0);
        let on_screen =
            |scrolled: f64| top >= scrolled + HEAD_HEIGHT && bottom <= scrolled + height - 8.0;
        if !on_screen(f64::from(el.scroll_top())) {
            let middle = (top + bottom) / 2.0 - HEAD_HEIGHT / 2.0;
            el.set_scroll_top((middle - height / 2.0).max(0.0) as i32);
        }
        self.sync();
        on_screen(f64::from(el.scroll_top()))
    }

    /// The scroller moved. Scrolling back in time pauses following; scrolling down to the end
    /// resumes it; either unpins a picked arrow. Content that grew under a scroll is not the
    /// learner scrolling, and the diagram's own scrolls were recorded as they were made.
    pub fn on_scroll(self) {
        let Some(el) = self.element.get_untracked() else {
            return;
        };
        let top = f64::from(el.scroll_top());
        let height = f64::from(el.client_height());
        let at_bottom = top + height >= f64::from(el.scroll_height()) - 8.0;
        let scrolled_up = top < self.top.get_untracked() - 1.0;
        let scrolled_down = top > self.top.get_untracked() + 1.0;
        if scrolled_up || scrolled_down {
            self.pinned.set_value(false);
        }
        if self.follow.get_untracked() && scrolled_up && !at_bottom {
            self.follow.set(false);
        } else if !self.follow.get_untracked() && scrolled_down && at_bottom {
            self.follow.set(true);
        }
        self.top.set(top);
        self.viewport.set(height);
    }

    /// Brings the window drawn in line with where the scroller really is (changed only when
    /// it differs, so an effect that calls it settles).
    fn sync(self) {
        let Some(el) = self.element.get_untracked() else {
            return;
        };
        let top = f64::from(el.scroll_top());
        let height = f64::from(el.client_height());
        if (self.top.get_untracked() - top).abs() > 0.5 {
            self.top.set(top);
        }
        if height > 0.0 && (self.viewport.get_untracked() - height).abs() > 0.5 {
            self.viewport.set(height);
        }
    }
}

/// Runs `done` at the next animation frame, and at the ones after until it says it is done,
/// at most `tries` times.
fn each_frame_until(tries: u32, done: impl Fn() -> bool + Copy + 'static) {
    request_animation_frame(move || {
        if !done() && tries > 1 {
            each_frame_until(tries - 1, done);
        }
    });
}
