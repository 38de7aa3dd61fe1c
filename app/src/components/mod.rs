//! The page's parts, one per file, named after what they show.

pub mod dht_controls;
pub mod dht_view;
pub mod event_log;
pub mod leave_controls;
pub mod lesson_panel;
pub mod network_controls;
pub mod network_status;
pub mod network_view;
pub mod page_header;
pub mod ping_controls;
pub mod relay_badge;
pub mod room_view;
pub mod sequence_diagram;
pub mod share_link;
pub mod side_column;
pub mod snapshot_table;
pub mod time_controls;
pub mod toggle;
pub mod token_controls;
pub mod view_tabs;
pub mod views_column;
pub mod wire_view;
