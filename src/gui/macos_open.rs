//! macOS: files opened from Finder (double-click, "Open With", dropping on the Dock icon) reach
//! an app as an "open documents" Apple Event, not as arguments. winit 0.30 and eframe 0.37 do
//! not pass that event on, and winit 0.30 installs its own application delegate (replacing it
//! would stop winit's launch handling), so this installs a handler for the event itself with
//! NSAppleEventManager and delivers the paths to the same inbox as the single-instance socket.
//!
//! AppKit installs its own handlers for the core events while the app launches; Apple's guidance
//! is to install yours in applicationWillFinishLaunching:, before the launch's open-documents
//! event is delivered, so the handler is installed again on that notification.
//!
//! Compiled and type-checked for aarch64-apple-darwin only; never run (no Mac was available).

use std::path::PathBuf;

use objc2::rc::Retained;
use objc2::runtime::{AnyObject, NSObject};
use objc2::{DefinedClass, MainThreadMarker, MainThreadOnly, define_class, msg_send, sel};
use objc2_app_kit::NSApplicationWillFinishLaunchingNotification;
use objc2_foundation::{NSAppleEventDescriptor, NSAppleEventManager, NSNotification, NSNotificationCenter};

use super::single_instance::OpenInbox;

/// Four-character codes from the Apple Event Manager (AERegistry.h, AEDataModel.h).
const CORE_EVENT_CLASS: u32 = u32::from_be_bytes(*b"aevt");
const OPEN_DOCUMENTS: u32 = u32::from_be_bytes(*b"odoc");
const DIRECT_OBJECT: u32 = u32::from_be_bytes(*b"----");
const FILE_URL: u32 = u32::from_be_bytes(*b"furl");

define_class!(
    // SAFETY: NSObject has no subclassing requirements, and this class has no Drop.
    #[unsafe(super(NSObject))]
    #[thread_kind = MainThreadOnly]
    #[name = "RaiiafOpenDocumentsHandler"]
    #[ivars = OpenInbox]
    struct Handler;

    impl Handler {
        #[unsafe(method(applicationWillFinishLaunching:))]
        fn will_finish_launching(&self, _notification: &NSNotification) {
            self.install_event_handler();
        }

        #[unsafe(method(handleOpenDocuments:withReplyEvent:))]
        fn handle_open_documents(&self, event: &NSAppleEventDescriptor, _reply: &NSAppleEventDescriptor) {
            let paths = file_paths(event);
            if !paths.is_empty() {
                self.ivars().deliver(paths);
            }
        }
    }
);

impl Handler {
    fn new(mtm: MainThreadMarker, inbox: OpenInbox) -> Retained<Handler> {
        let this = Handler::alloc(mtm).set_ivars(inbox);
        // SAFETY: NSObject's designated initialiser.
        unsafe { msg_send![super(this), init] }
    }

    fn install_event_handler(&self) {
        let handler: &AnyObject = self.as_ref();
        // SAFETY: this class implements the selector with the signature the Apple Event
        // Manager calls (event, reply), and `OpenDocumentsHandler` removes the handler before
        // the object can be freed.
        unsafe {
            NSAppleEventManager::sharedAppleEventManager().setEventHandler_andSelector_forEventClass_andEventID(
                handler,
                sel!(handleOpenDocuments:withReplyEvent:),
                CORE_EVENT_CLASS,
                OPEN_DOCUMENTS,
            );
        }
    }
}

/// The files an open-documents event names: its direct object is a list of file references
/// (or, from some senders, a single one).
fn file_paths(event: &NSAppleEventDescriptor) -> Vec<PathBuf> {
    let Some(direct) = event.paramDescriptorForKeyword(DIRECT_OBJECT) else { return Vec::new() };
    let count = direct.numberOfItems();
    let items: Vec<Retained<NSAppleEventDescriptor>> =
        if count <= 0 { vec![direct] } else { (1..=count).filter_map(|i| direct.descriptorAtIndex(i)).collect() };
    items
        .iter()
        .filter_map(|item| item.coerceToDescriptorType(FILE_URL))
        .filter_map(|url| url.fileURLValue())
        .filter_map(|url| url.to_file_path())
        .collect()
}

/// Keeps the handler installed while it lives (from before the window opens until it closes).
pub struct OpenDocumentsHandler {
    handler: Retained<Handler>,
}

impl OpenDocumentsHandler {
    /// `None` off the main thread, where AppKit cannot be used.
    pub fn install(inbox: &OpenInbox) -> Option<OpenDocumentsHandler> {
        let mtm = MainThreadMarker::new()?;
        let handler = Handler::new(mtm, inbox.clone());
        handler.install_event_handler();
        let observer: &AnyObject = handler.as_ref();
        // SAFETY: the selector takes one NSNotification, as the notification centre passes;
        // the observer is removed in Drop, before it can be freed.
        unsafe {
            NSNotificationCenter::defaultCenter().addObserver_selector_name_object(
                observer,
                sel!(applicationWillFinishLaunching:),
                Some(NSApplicationWillFinishLaunchingNotification),
                None,
            );
        }
        Some(OpenDocumentsHandler { handler })
    }
}

impl Drop for OpenDocumentsHandler {
    fn drop(&mut self) {
        let observer: &AnyObject = self.handler.as_ref();
        // SAFETY: removing an observer that was added above.
        unsafe { NSNotificationCenter::defaultCenter().removeObserver(observer) };
        NSAppleEventManager::sharedAppleEventManager()
            .removeEventHandlerForEventClass_andEventID(CORE_EVENT_CLASS, OPEN_DOCUMENTS);
    }
}
