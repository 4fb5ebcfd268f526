from dedup.normalize import EMAIL_MASK, ID_MASK, NAME_MASK, PHONE_MASK, item_text, normalize


def test_full_width_folds_to_half_width():
    assert normalize("ＡＢＣ１２３，路灯") == "ABC123,路灯"


def test_contacts_are_masked():
    text = normalize("我叫张伟，电话13812345678，邮箱zw@example.com，身份证371502199001011234。")
    assert "13812345678" not in text and "zw@example.com" not in text and "371502199001011234" not in text
    assert PHONE_MASK in text and EMAIL_MASK in text and ID_MASK in text and NAME_MASK in text


def test_landline_with_area_code_is_masked():
    assert PHONE_MASK in normalize("联系电话：0635-8888888")


def test_channel_boilerplate_stripped():
    assert normalize("市民来电反映：路灯坏了") == "路灯坏了"
    assert normalize("您好，尊敬的领导：路灯坏了") == "路灯坏了"


def test_whitespace_and_repeated_punctuation_folded():
    assert normalize("路灯  坏了！！！\n请 修") == "路灯 坏了! 请 修"


def test_title_prepended_once():
    assert item_text("路灯不亮", "古楼街道路灯坏了三盏") == "路灯不亮. 古楼街道路灯坏了三盏"
    assert item_text("路灯坏了", "路灯坏了三盏") == "路灯坏了三盏"


def test_normalize_is_idempotent():
    text = "市民来电反映：东昌府区路灯坏了，电话13812345678！！"
    assert normalize(normalize(text)) == normalize(text)
