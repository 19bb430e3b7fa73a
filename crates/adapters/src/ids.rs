//! Random identifiers, in the original's formats.

/// An order id: 21 URL-safe characters (nanoid's default, like the original).
pub fn order_id() -> String {
    nanoid::nanoid!()
}

/// A QR code: 10 URL-safe characters.
pub fn qr_code() -> String {
    nanoid::nanoid!(10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_original_lengths_and_alphabet() {
        let id = super::order_id();
        assert_eq!(id.len(), 21);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
        assert_eq!(super::qr_code().len(), 10);
        assert_ne!(super::order_id(), super::order_id());
    }
}
