//! What a pull request is told when a job cannot do its work: a short cause from a fixed list.
//! Error chains hold server paths, internal URLs and library details, so they go to the log
//! (in the job span, which carries the delivery id) and never into a check run or a status.

use crate::checkout::CheckoutError;
use crate::forge::ForgeError;
use crate::store::StoreError;

/// Why a checkout that will not succeed by retrying failed, for the pull request.
pub(super) fn of_checkout(e: &CheckoutError) -> &'static str {
    match e {
        CheckoutError::Auth(_) => "the git server refused the bot's credentials",
        CheckoutError::NotFound(_) => "the pull request's commits could not be found",
        CheckoutError::TooLarge(_) => "the repository exceeds the bot's size limits",
        CheckoutError::Timeout(_) => "fetching the repository took too long",
        CheckoutError::UnsafePath(_) => {
            "the repository holds a path that is not checked out safely"
        }
        CheckoutError::InvalidInput(_) => "the event did not say what to check out",
        CheckoutError::Git(_) | CheckoutError::Io(_) => "git or the bot's disk failed",
    }
}

/// The org policy repository could not be fetched: the check fails closed.
pub(super) const POLICY_REPO: &str = "the org policy repository could not be fetched, and the pull request is not judged with fewer policies than the org set; fix its URL, ref or access, then comment `/thoth rerun`";

/// Why a job gave up, for the pull request: the first error of a known kind in the chain.
pub(super) fn of_error(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<CheckoutError>() {
            return match c {
                CheckoutError::Git(_) | CheckoutError::Io(_) | CheckoutError::Timeout(_) => {
                    "the pull request could not be checked out"
                }
                other => of_checkout(other),
            };
        }
        if cause.is::<ForgeError>() {
            return "the forge's API kept failing";
        }
        if cause.is::<StoreError>() {
            return "the bot's store was unavailable";
        }
    }
    "the evaluation could not complete"
}

/// Removes `dir/` (a job's checkout) from a message about a file in it, so a note shown on the
/// pull request names the file as the repository does.
pub(super) fn relative_to(message: &str, dir: &std::path::Path) -> String {
    message.replace(&format!("{}/", dir.display()), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_short_and_name_no_path() {
        let io = CheckoutError::Io(std::io::Error::other("/tmp/x/cache/mirrors/a.git: denied"));
        let chained = anyhow::Error::new(io).context("checkout");
        assert_eq!(
            of_error(&chained),
            "the pull request could not be checked out"
        );
        let auth = CheckoutError::Auth("http://10.0.0.1/r.git rejected the credentials".into());
        assert_eq!(
            of_checkout(&auth),
            "the git server refused the bot's credentials"
        );
        let forge = anyhow::Error::new(ForgeError::Transport("10.0.0.1:443 refused".into()))
            .context("create check run");
        assert_eq!(of_error(&forge), "the forge's API kept failing");
        let other = anyhow::anyhow!("/srv/thoth/work/x: something odd");
        assert_eq!(of_error(&other), "the evaluation could not complete");
        assert_eq!(
            relative_to(
                "/tmp/w/base/.thothctl/x.yaml is too large",
                std::path::Path::new("/tmp/w/base")
            ),
            ".thothctl/x.yaml is too large"
        );
    }
}
