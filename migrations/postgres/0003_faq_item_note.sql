-- Why an item's answer is not the usual one: set when a question that was with the provider
-- when its run stopped is answered from the knowledge (extractive) instead of being sent twice.
ALTER TABLE faq_items ADD COLUMN note TEXT;
